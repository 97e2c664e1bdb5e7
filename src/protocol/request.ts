/**
 * One object per request, holding everything the encoder, the connection and the reply handler
 * need. No closure is made per request: the promise's executor is a module-level function, the
 * abort listener is the request itself (`handleEvent`), and replies are interpreted by a
 * {@link ReplyHandler} shared by every request of the same command.
 *
 * Life cycle: QUEUED (in the connection's pending queue, not on the wire) → WRITTEN (in the
 * in-flight FIFO) → SETTLED. A request settled while QUEUED (timeout, abort) is never sent; one
 * settled while WRITTEN keeps its FIFO slot so that its late reply is read and dropped.
 */
import { AbortError } from "../errors.js";
import type { BinaryReply } from "./binary/parser.js";
import type { MetaReply } from "./meta/parser.js";

/** A parsed reply of either protocol. */
export type Reply = MetaReply | BinaryReply;

/** Request states. */
export const QUEUED = 0;
export const WRITTEN = 1;
export const SETTLED = 2;

/** Meta command kinds the encoder knows. */
export enum Op {
  Get = 0, // mg <key> v f
  Gets = 1, // mg <key> v f c
  Touch = 2, // mg <key> T<ttl>
  GetAndTouch = 3, // mg <key> v f T<ttl>
  Store = 4, // ms <key> <len> F T M C
  Delete = 5, // md <key>
  Arith = 6, // ma <key> D M N J T v
  GetMany = 7, // mg <key> v f k q … mn
  StoreMany = 8, // ms <key> <len> … q … mn
  DeleteMany = 9, // md <key> q … mn
  Stats = 10, // stats [group]
  Version = 11, // version
  Flush = 12, // flush_all [delay]
  Noop = 13, // mn
  Fetch = 14, // mg <key> v f c t N<lockTtl> [R<recache>]
  Invalidate = 15, // md <key> I T<staleTtl>
  /** Authentication: meta → ASCII auth (`set` with `user pass`); binary → SASL PLAIN auth. `value` = payload. */
  Auth = 16,
  /** Binary only: SASL list mechanisms. */
  AuthMechs = 17,
}

/**
 * What to do with a request that failed, instead of rejecting it (retry, fail over). Shared by all
 * requests of a client; set by the cluster layer, the only one that retries.
 */
export interface FailurePolicy {
  /** Returns true when it takes the request over (it will be sent again); false to let it fail. */
  onFail(req: Request, error: unknown): boolean;
}

/**
 * Interprets the replies of one kind of request. Shared by all requests of that kind. `R` is the
 * reply type of the protocol the handler is written for (a connection speaks one protocol).
 */
export interface ReplyHandler<R extends Reply = Reply> {
  /**
   * Called with each reply that belongs to `req` (the head of the in-flight FIFO). Settles `req`
   * unless it is already settled, in which case the reply is only consumed. Returns true when this
   * was the request's last reply. Throws a `ProtocolError` for a reply that cannot belong to it.
   */
  onReply(req: Request, reply: R): boolean;
}

let executorResolve: (value: unknown) => void;
let executorReject: (reason: unknown) => void;
function executor(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  executorResolve = resolve;
  executorReject = reject;
}

/** The per-key part of a batch request. */
export class Batch {
  /** Key tokens as sent. */
  readonly keys: string[];
  /** Per-key base64 marks, or null when no key needs base64. */
  readonly keysBase64: boolean[] | null;
  /** The caller's keys, in the same order (results are keyed by them). */
  readonly userKeys: readonly unknown[];
  /** StoreMany: encoded values, their byte lengths and client flags. */
  values: (string | Buffer)[] | null = null;
  valueLengths: number[] | null = null;
  valueFlags: number[] | null = null;
  /** Smallest key index the next reply may carry (replies come back in order). */
  next = 0;
  /** Hits this request added to its result (getMany; several requests may share one result map). */
  found = 0;
  /** First error reply seen in the batch; reported when `MN` ends it. */
  error: Error | null = null;

  constructor(keys: string[], keysBase64: boolean[] | null, userKeys: readonly unknown[]) {
    this.keys = keys;
    this.keysBase64 = keysBase64;
    this.userKeys = userKeys;
  }
}

/** A request's rarer arguments, at their defaults until set (see {@link Request.extra}). */
export class Extra {
  mode = 0;
  cas: bigint | null = null;
  delta = 0n;
  initial: bigint | null = null;
  recache = -1;
  arg = "";
}

/** A request and its promise. Fields are public for the encoder and handlers; not user-facing. */
export class Request {
  readonly promise: Promise<unknown>;
  state = QUEUED;
  /** Time allowed, ms, from the call. */
  readonly timeout: number;
  /** Absolute deadline (`performance.now()` clock); set by the connection when the request is queued. */
  deadline = 0;
  /** Opaque of the first line written for this request (set by the encoder). */
  opaque = 0;
  /** The caller's AbortSignal while the request is unsettled, else null. */
  signal: AbortSignal | null = null;

  // ── command ─────────────────────────────────────────────────────────────────
  key = "";
  /** The key token is base64 (send the `b` flag). */
  base64 = false;
  /** Encoded value: UTF-8 string or bytes. */
  value: string | Buffer | null = null;
  /** Byte length of `value`. */
  valueLength = 0;
  /** Client flags (u32) stored with the value. */
  clientFlags = 0;
  /** TTL in memcached's form (seconds, or absolute Unix time past 30 days); -1 = not sent. */
  ttl = -1;
  /**
   * The rarer arguments (see {@link Extra}), or null while all are at their defaults: a get or a plain
   * set does not allocate them, and a request is 5 fields smaller. Read and written through the
   * accessors below (`mode`, `cas`, `delta`, `initial`, `recache`, `arg`).
   */
  extra: Extra | null = null;

  // ── routing (cluster layer) ─────────────────────────────────────────────────
  /** Key the request is routed by (its key, or the caller's `hashKey`). */
  hashKey: string | Buffer = "";
  /** Consulted before the request fails; null: no retry, no failover. */
  policy: FailurePolicy | null = null;
  /** Retries left for a connection failure (idempotent commands only). */
  retries = 0;
  /** Failovers to another replica so far (at most replicas − 1). */
  replica = 0;
  /** The server (cluster layer object) the request was last sent to, to fail over away from it. */
  server: object | null = null;
  /** The deadline is shared over this many replicas (reads with replicas): each attempt gets its share. */
  split = 1;
  /** The caller's deadline (`deadline` is this attempt's); set with `deadline`. */
  finalDeadline = 0;
  /** Keys, values and progress of a batch (GetMany / StoreMany / DeleteMany), else null. */
  batch: Batch | null = null;
  /** Accumulator for multi-reply requests (batch results, stats). */
  result: unknown = null;
  /** Context for the handler (e.g. the codec). */
  context: unknown = null;

  constructor(
    readonly op: Op,
    readonly handler: ReplyHandler,
    timeoutMs: number,
  ) {
    this.timeout = timeoutMs;
    this.promise = new Promise(executor);
    this.resolve = executorResolve;
    this.reject = executorReject;
  }

  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;

  /** `ms` mode letter (char code) or `ma` mode letter; 0 = default. */
  get mode(): number {
    return this.extra === null ? 0 : this.extra.mode;
  }
  set mode(v: number) {
    if (this.extra !== null || v !== 0) this.#extra().mode = v;
  }
  /** CAS to compare (`C<cas>`), or null. */
  get cas(): bigint | null {
    return this.extra === null ? null : this.extra.cas;
  }
  set cas(v: bigint | null) {
    if (this.extra !== null || v !== null) this.#extra().cas = v;
  }
  /** `ma` delta. */
  get delta(): bigint {
    return this.extra === null ? 0n : this.extra.delta;
  }
  set delta(v: bigint) {
    if (this.extra !== null || v !== 0n) this.#extra().delta = v;
  }
  /** `ma` initial value for auto-vivify (`N` + `J`), or null. */
  get initial(): bigint | null {
    return this.extra === null ? null : this.extra.initial;
  }
  set initial(v: bigint | null) {
    if (this.extra !== null || v !== null) this.#extra().initial = v;
  }
  /** Fetch: `R<recache>` (recache when the remaining TTL is below it), -1 = not sent. */
  get recache(): number {
    return this.extra === null ? -1 : this.extra.recache;
  }
  set recache(v: number) {
    if (this.extra !== null || v !== -1) this.#extra().recache = v;
  }
  /** Extra text argument (stats group, flush delay). */
  get arg(): string {
    return this.extra === null ? "" : this.extra.arg;
  }
  set arg(v: string) {
    if (this.extra !== null || v !== "") this.#extra().arg = v;
  }

  #extra(): Extra {
    if (this.extra === null) this.extra = new Extra();
    return this.extra;
  }

  /** Settles with a value. Returns false (and does nothing) when already settled. */
  succeed(value: unknown): boolean {
    if (this.state === SETTLED) return false;
    this.state = SETTLED;
    if (this.signal !== null) this.#dropSignal();
    this.resolve(value);
    return true;
  }

  /**
   * Settles with an error, unless the failure policy takes the request over to send it again.
   * Returns false (and does nothing) when already settled or taken over.
   */
  fail(error: unknown): boolean {
    if (this.state === SETTLED) return false;
    if (this.policy?.onFail(this, error)) return false;
    this.state = SETTLED;
    if (this.signal !== null) this.#dropSignal();
    this.reject(error);
    return true;
  }

  /** A copy to send to another server (replicated writes): same command, its own promise and state. */
  clone(): Request {
    const c = new Request(this.op, this.handler, this.timeout);
    c.deadline = this.deadline;
    c.key = this.key;
    c.base64 = this.base64;
    c.value = this.value;
    c.valueLength = this.valueLength;
    c.clientFlags = this.clientFlags;
    c.ttl = this.ttl;
    c.mode = this.mode;
    c.cas = this.cas;
    c.delta = this.delta;
    c.initial = this.initial;
    c.recache = this.recache;
    c.arg = this.arg;
    c.context = this.context;
    c.hashKey = this.hashKey;
    c.policy = this.policy;
    c.retries = this.retries;
    if (this.batch !== null) {
      const b = new Batch(this.batch.keys, this.batch.keysBase64, this.batch.userKeys);
      b.values = this.batch.values;
      b.valueLengths = this.batch.valueLengths;
      b.valueFlags = this.batch.valueFlags;
      c.batch = b;
    }
    if (Array.isArray(this.result)) c.result = new Array<boolean>(this.result.length).fill(true);
    else if (this.result instanceof Map) c.result = new Map();
    if (this.signal !== null) c.watch(this.signal);
    return c;
  }

  /**
   * Retires a request that timed out on one replica and goes on as `next` on another: it keeps its
   * FIFO slot (so its late reply is dropped), and the caller's promise settles with `next`'s outcome.
   */
  handOver(next: Request): void {
    this.state = SETTLED;
    if (this.signal !== null) this.#dropSignal();
    next.promise.then(this.resolve, this.reject);
  }

  /** Follows `signal`: when it aborts, the request fails with `AbortError` (see {@link Request.handleEvent}). */
  watch(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener("abort", this);
  }

  /**
   * The abort listener (the request is its own `EventListener`, so no closure is made). A QUEUED
   * request is then never sent; a WRITTEN one keeps its FIFO slot and its reply is dropped.
   */
  handleEvent(): void {
    const reason = this.signal?.reason;
    this.fail(new AbortError("the request was aborted", { cause: reason }));
  }

  #dropSignal(): void {
    this.signal!.removeEventListener("abort", this);
    this.signal = null;
  }
}
