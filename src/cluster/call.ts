/**
 * A Call: one command as the caller sees it — its promise, its overall deadline, its AbortSignal,
 * the result it accumulates — from the moment the client builds it until it settles. The client
 * layer makes it (with the {@link Frame} to send) and hands it to `Cluster.execute`; the cluster
 * turns it into attempts and settles it. The bookkeeping fields below the line are the cluster's.
 *
 * Nothing made per call outlives its construction but the promise and its two resolvers: the abort
 * listener is the call itself (`handleEvent`), and the promise's executor is an arrow that V8 inlines
 * with the Promise constructor (cheaper than a module-level executor, whose stores of the resolvers
 * into module variables each paid a write barrier).
 */
import type { AsyncResource } from "node:async_hooks";
import {
  type Attempt,
  type AttemptCarrier,
  type AttemptSink,
  QUEUED,
  type ReplyHandler,
  WRITTEN,
  withAttemptMethods,
} from "../connection/attempt.js";
import { AbortError } from "../errors.js";
import type { Frame } from "../protocol/frame.js";
import type { Reply, ReplyView } from "../protocol/reply.js";
import type { RoutingKey } from "./membership.js";
import { isWrite } from "./policy.js";
import type { Server } from "./server.js";

/** What a multi-reply command accumulates: a getMany's hits, a write batch's per-key answers, one server's stats. */
export type Accumulator = Map<RoutingKey, unknown> | boolean[] | Record<string, string>;

/** A reply handler of a call's command. */
export interface CallHandler extends ReplyHandler<Reply, Call, Server | undefined> {
  onReply(attempt: CallAttempt, reply: ReplyView): boolean;
}

/**
 * An attempt of a call on a server, with what the cluster and the reply handlers keep per try. It is
 * an {@link Attempt} to the connection — the same fields, and Attempt's own methods (installed by
 * `withAttemptMethods` below) — but not a subclass of it, which V8 builds far slower, once per attempt.
 */
export class CallAttempt {
  // ── the fields of Attempt ───────────────────────────────────────────────────
  /** QUEUED, as a literal: reading an imported binding here made each construction several times slower. */
  state = 0;
  opaque = 0;
  deadline = 0;
  queuedAt = 0;
  carrier: AttemptCarrier | null = null;
  declare succeed: Attempt<Call, Server | undefined>["succeed"];
  declare fail: Attempt<Call, Server | undefined>["fail"];
  declare abandon: Attempt<Call, Server | undefined>["abandon"];

  // ── the cluster's ───────────────────────────────────────────────────────────
  /** Where this try's replies accumulate (the call's hit map, or this part's booleans), or null. */
  result: Accumulator | null = null;
  /** Batches: for each key of `frame.batch`, its position in the call's key list (null: the same). */
  indices: readonly number[] | null = null;
  /** Position of `target` in the key's replica list (0 = owner). */
  replica = 0;
  /** The attempt this one follows (a retry or a failover of it), or null for a first try. */
  previous: CallAttempt | null = null;
  /** Batches: smallest key index the next reply may carry (replies come back in order). */
  next = 0;
  /** A text getMany: which keys have had their `VALUE`, or null before the first. */
  answered: Uint8Array | null = null;
  /** A text getMany answered out of order (by a proxy): the keys not answered yet, by token. */
  byKey: Map<string, number[]> | null = null;
  /** Hits this try found (a batch's count; 1 for a fetch that hit), for traces. */
  found = 0;
  /** Batches: the first error reply seen; reported when the batch ends. */
  batchError: Error | null = null;
  /** A hedged read: the attempt racing this one on another replica (the first answer wins). */
  rival: CallAttempt | null = null;
  /** This attempt is the hedge of a slow read. */
  isHedge = false;
  /** When a watched read is hedged (`performance.now()` clock). */
  hedgeAt = 0;
  /** A getMany part whose misses are read through elsewhere (see `warm-up.ts`). */
  readThrough = false;
  /** A batch read: the call's key indices that may be stale where it went (their hits are dropped). */
  staleKeys: number[] | null = null;

  constructor(
    readonly frame: Frame,
    readonly handler: ReplyHandler<Reply, Call, Server | undefined>,
    readonly sink: AttemptSink<Call, Server | undefined>,
    readonly call: Call,
    readonly target: Server | undefined,
    /** Time allowed for this try, ms (used when `deadline` is 0 at queueing). */
    readonly timeout: number,
  ) {}

  /** Whether it reads through another's misses: failing, its keys are misses, not the call's failure. */
  get bestEffort(): boolean {
    for (let p = this.previous; p !== null; p = p.previous) if (p.readThrough) return true;
    return false;
  }

  /** The servers this attempt and the ones before it went to. */
  tried(): Server[] {
    const tried: Server[] = [];
    for (let p: CallAttempt | null = this; p !== null; p = p.previous)
      if (p.target !== undefined) tried.push(p.target);
    return tried;
  }
}
withAttemptMethods(CallAttempt);

/**
 * An attempt of a call that settled another way: never sent if it is still queued, its reply dropped
 * if it is a read. A write already written goes on to its outcome, so that the cluster still notes it
 * if it fails and follows it with a delete if it times out (its answer no longer reaches the caller).
 */
function giveUp(a: CallAttempt): void {
  if (a.state === QUEUED || (a.state === WRITTEN && !isWrite(a.frame.op))) a.abandon();
}

/** An error as one replica's outcome of a replicated write. */
export class Failed {
  constructor(readonly error: unknown) {}
}

export class Call {
  readonly promise: Promise<unknown>;
  #resolve!: (value: unknown) => void;
  #reject!: (reason: unknown) => void;
  /** Settled: the caller has its answer; later outcomes of its attempts are ignored. */
  settled = false;
  /** The caller's AbortSignal while the call is unsettled, else null. */
  signal: AbortSignal | null = null;
  /** Absolute deadline (`performance.now()` clock), fixed at the first attempt; see {@link Call.endsAt}. */
  #deadline = 0;
  /**
   * Routing key of a keyed call (its key, or the caller's `hashKey`); for a batch, the `hashKey`
   * that routes every key, or null when each key routes by itself.
   */
  routingKey: RoutingKey | null = null;
  /** Batches: the caller's keys, in order (results are keyed or indexed by them). */
  keys: readonly RoutingKey[] | null = null;
  /** Accumulated result of a multi-reply command, or null. */
  result: Accumulator | null = null;
  /** What a read resolves to when its server cannot be reached and `failOpen` is on (its miss). */
  miss: unknown = undefined;
  /** The command its traces name, when not its frame's: `fetch` for fetch's write-back (a cas or add). */
  tracedAs: string | null = null;

  // ── the cluster's bookkeeping ───────────────────────────────────────────────
  /** The latest attempt (abandoned when the call settles another way). */
  attempt: CallAttempt | null = null;
  /** While traced: the caller's async context, in which every attempt's `start` is published. */
  traceScope: AsyncResource | null = null;
  /** Further attempts under way at once (replicated writes, a batch over several servers). */
  others: CallAttempt[] | null = null;
  /** Attempts not settled yet, when there are several. */
  pending = 0;
  /** Retries left after connection failures (of any command that never reached the wire; once sent, idempotent ones only). */
  retriesLeft = 0;
  /** Retries made so far. */
  retriesUsed = 0;
  /** Replicated writes: each replica's answer, or a {@link Failed} mark, by replica index. */
  outcomes: unknown[] | null = null;
  /** Replicated cas: the servers the value is copied to once the owner accepted it. */
  copies: Server[] | null = null;
  /** Position in each key's replica list that this call writes to (copies of a batch write: > 0). */
  replica = 0;

  constructor(
    readonly frame: Frame,
    readonly handler: CallHandler,
    /** Time allowed, ms, from the first attempt. */
    readonly timeout: number,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The overall deadline: fixed from the first attempt's queueing time (or now, before any). */
  endsAt(): number {
    if (this.#deadline === 0) {
      const first = this.attempt?.queuedAt ?? 0;
      this.#deadline = (first > 0 ? first : performance.now()) + this.timeout;
    }
    return this.#deadline;
  }

  /** Records a further attempt under way at once (it is abandoned if the call settles first). */
  track(attempt: CallAttempt): void {
    if (this.attempt === null) this.attempt = attempt;
    else (this.others ??= []).push(attempt);
  }

  /** Settles with a value. Returns false (and does nothing) when already settled. */
  succeed(value: unknown): boolean {
    if (this.settled) return false;
    this.#settle();
    this.#resolve(value);
    return true;
  }

  /** Settles with an error. Returns false (and does nothing) when already settled. */
  fail(error: unknown): boolean {
    if (this.settled) return false;
    this.#settle();
    this.#reject(error);
    return true;
  }

  /** Follows `signal`: when it aborts, the call fails with `AbortError`. */
  watch(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener("abort", this);
  }

  /**
   * The abort listener (the call is its own `EventListener`, so no closure is made). Attempts not
   * yet written are then never sent; written ones keep their FIFO slot and their reply is dropped.
   */
  handleEvent(): void {
    this.fail(new AbortError("the request was aborted", { cause: this.signal?.reason }));
  }

  #settle(): void {
    this.settled = true;
    if (this.signal !== null) {
      this.signal.removeEventListener("abort", this);
      this.signal = null;
    }
    if (this.attempt !== null) giveUp(this.attempt);
    if (this.others !== null) for (const a of this.others) giveUp(a);
  }
}

/** The routing key of the i-th key of attempt `a` of `call`. */
export function routeOf(call: Call, a: CallAttempt, i: number): RoutingKey {
  if (call.routingKey !== null) return call.routingKey;
  const key = call.keys?.[a.indices === null ? i : a.indices[i]!];
  // A call the client made of its own without a routing key: its wire token stands in.
  return key ?? a.frame.batch?.keys[i] ?? a.frame.key;
}
