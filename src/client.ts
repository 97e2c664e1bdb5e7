/**
 * The public client: validates input, serialises values, builds requests and hands them to the
 * server's connection. The only place that serialises values (with `commands.ts`, its reply side).
 */
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { BINARY_HANDLERS } from "./commands-binary.js";
import {
  type FetchReply,
  type GetsResult,
  type Handlers,
  META_HANDLERS,
  type ReadContext,
} from "./commands.js";
import { Router } from "./cluster/router.js";
import type { Server, ServerState } from "./cluster/server.js";
import {
  AbortError,
  ClientClosedError,
  ConnectionError,
  InvalidArgumentError,
  NoServersError,
  ServerUnavailableError,
  TimeoutError,
  UnsupportedError,
  ValueTooLargeError,
} from "./errors.js";
import {
  type CommandContext,
  commandChannel,
  serverDownChannel,
  serverUpChannel,
  tracing,
} from "./diagnostics.js";
import { type Key, KeyEncoder } from "./keys.js";
import { LocalCache } from "./local-cache.js";
import {
  type ArithOptions,
  type CallOptions,
  type ClientOptions,
  type FetchOptions,
  type FlushOptions,
  type InvalidateOptions,
  type ResolvedOptions,
  resolveOptions,
  type SetOptions,
} from "./options.js";
import { Batch, Op, type ReplyHandler, Request } from "./protocol/request.js";
import {
  commandName,
  isRead,
  missOf,
  retryable,
  seconds,
  ttl,
  U64_MAX,
  u64,
  unreachable,
} from "./requests.js";
import { ValueCodec } from "./serialization/codec.js";
import { COMPRESSION_MASK } from "./serialization/compression.js";

/** One server's state, in {@link Client.health}. */
export interface ServerHealth {
  /** `"host:port"`. */
  label: string;
  /** `"up"`, `"down"` (failing fast, or out of the ring with `eject`), or `"probing"` (one probe under way). */
  state: ServerState;
  /** Consecutive failures counted towards `failover.failureThreshold`. */
  failures: number;
  /** Milliseconds until the next probe while down; 0 when up. */
  nextProbeIn: number;
  /** Requests written, reply pending. */
  inFlight: number;
  /** Requests waiting to be written. */
  queued: number;
  /** Round-trip latency, ms (moving average of sampled requests); -1 before any reply. */
  latency: number;
  /** Present (true) on gutter servers. */
  gutter?: true;
  /** Connections: leased (in use), existing, idle in the pool. */
  pool: { active: number; size: number; available: number };
}

/** Counters of the local cache, in {@link Client.health}. */
export interface LocalCacheHealth {
  size: number;
  hits: number;
  misses: number;
  /** Expired entries served because the server could not be reached. */
  staleServed: number;
}

/** Most keys remembered per server as possibly stale (write-failure tracking); the newest are kept. */
const MAX_WRITE_FAILURES = 10_000;
/** Keys per `md` batch when cleaning a returning server. */
const INVALIDATE_BATCH = 500;

const MODE_ADD = 0x45; // E
const MODE_APPEND = 0x41; // A
const MODE_PREPEND = 0x50; // P
const MODE_REPLACE = 0x52; // R
const MODE_DECR = 0x44; // D

/**
 * A memcached client over the meta protocol (or the binary one, `protocol: "binary"`), on TCP or TLS:
 * pipelined, with a deadline on every request.
 *
 * Every command returns a promise; invalid input rejects with a typed error before anything is sent.
 * A miss resolves to `undefined`, a refused store to `false`; only transport, protocol and server
 * failures reject.
 *
 * Keys are spread over `servers` with libmemcached-compatible ketama ({@link HashRing}); each server's
 * health is tracked and a down server costs callers no waiting (see `failover`).
 *
 * Events (never `error`): `serverDown` `{ server, error }`, `serverUp` `{ server }`, `writeFailure`
 * `{ server, key, error }` (a write did not reach that server: the key is deleted there before it serves
 * again), and `staleServed` `{ key, error }` when the local cache answered with an expired entry because
 * the server could not be reached.
 */
export class Client extends EventEmitter {
  readonly #o: ResolvedOptions;
  readonly #keys: KeyEncoder;
  readonly #codec: ValueCodec;
  readonly #router: Router;
  readonly #l1: LocalCache | null;
  /** What reply handlers need from this client (`req.context`). */
  readonly #ctx: ReadContext;
  /** Reply handlers of the protocol spoken. */
  readonly #h: Handlers;
  #closed = false;

  constructor(options: ClientOptions) {
    super();
    this.#o = resolveOptions(options);
    this.#h = this.#o.protocol === "binary" ? BINARY_HANDLERS : META_HANDLERS;
    this.#keys = new KeyEncoder(this.#o.keyPrefix, this.#o.protocol === "binary");
    this.#codec = new ValueCodec(this.#o.codec, this.#o.compression);
    this.#ctx = {
      codec: this.#codec,
      releaseWin: (req, token, base64) => {
        const server = req.server as Server | null;
        if (server === null || this.#closed) return;
        const release = new Request(Op.Invalidate, this.#h.delete, this.#o.timeout);
        release.key = token;
        release.base64 = base64;
        release.promise.catch(ignore);
        server.send(release);
      },
    };
    this.#l1 = this.#o.localCache === null ? null : new LocalCache(this.#o.localCache);
    const o = this.#o;
    this.#router = new Router(
      o.servers,
      {
        connectTimeout: o.connectTimeout,
        socketTimeout: o.socketTimeout,
        maxInFlight: o.maxInFlight,
        maxQueue: o.maxQueue,
        maxValueSize: o.maxValueSize,
        keepAlive: o.keepAlive,
        protocol: o.protocol,
        tls: o.tls,
        auth: o.auth,
      },
      o.pool,
      o.failover,
      {
        eject: o.failover.eject,
        replicas: o.replicas,
        retries: o.retries,
        maxWriteFailures: MAX_WRITE_FAILURES,
        gutter: o.gutter?.servers,
      },
      {
        serverDown: (label, error) => {
          if (serverDownChannel.hasSubscribers) serverDownChannel.publish({ server: label, error });
          this.emit("serverDown", { server: label, error });
        },
        serverUp: (label) => {
          if (serverUpChannel.hasSubscribers) serverUpChannel.publish({ server: label });
          this.emit("serverUp", { server: label });
        },
        writeFailure: (label, key, error) => this.emit("writeFailure", { server: label, key, error }),
        invalidate: (server, keys) => this.#invalidateOn(server, keys),
      },
    );
  }

  // ── reads ───────────────────────────────────────────────────────────────────

  /** The value stored at `key`, or `undefined` on a miss. Served from the local cache when it has it. */
  get<T = unknown>(key: Key, options?: CallOptions): Promise<T | undefined> {
    if (this.#l1 !== null) return this.#cachedGet(key, options) as Promise<T | undefined>;
    return this.#keyed(Op.Get, this.#h.get, key, options) as Promise<T | undefined>;
  }

  /** The value with its CAS token and client flags, or `undefined` on a miss. */
  gets<T = unknown>(key: Key, options?: CallOptions): Promise<GetsResult<T> | undefined> {
    return this.#keyed(Op.Gets, this.#h.gets, key, options) as Promise<GetsResult<T> | undefined>;
  }

  /** Sets a new TTL; resolves false when the key does not exist. */
  touch(key: Key, ttl: number, options?: CallOptions): Promise<boolean> {
    return this.#keyed(Op.Touch, this.#h.touch, key, options, ttl) as Promise<boolean>;
  }

  /** Reads the value and sets a new TTL; `undefined` on a miss. */
  getAndTouch<T = unknown>(key: Key, ttl: number, options?: CallOptions): Promise<T | undefined> {
    return this.#keyed(Op.GetAndTouch, this.#h.get, key, options, ttl) as Promise<T | undefined>;
  }

  /** Values of several keys in one round trip: a Map of the hits (misses are absent), keyed by the given keys. */
  getMany<K extends Key, T = unknown>(keys: Iterable<K>, options?: CallOptions): Promise<Map<K, T>> {
    if (this.#l1 !== null) return this.#cachedGetMany(keys, options) as Promise<Map<K, T>>;
    return this.#getMany(keys, options) as Promise<Map<K, T>>;
  }

  async #getMany(keys: Iterable<Key>, options: CallOptions | undefined): Promise<Map<Key, unknown>> {
    const list = Array.from(keys);
    const out = new Map<Key, unknown>();
    if (list.length === 0) return out;
    // Every server's request (and a replica's, on failover) puts its hits straight into `out`.
    await Promise.all(
      this.#perServer(list, options, (sub, _indices, call) => {
        const req = this.#request(Op.GetMany, this.#h.getMany, call);
        req.batch = this.#batch(sub);
        req.result = out;
        return req;
      }),
    );
    return out;
  }

  /**
   * Splits a multi-key call into one request per owning server (built by `make` from that server's
   * keys and their indices in `list`) and sends them. Every request is built before any is sent, so
   * invalid input fails the call with nothing sent.
   */
  #perServer(
    list: readonly Key[],
    options: CallOptions | undefined,
    make: (keys: Key[], indices: number[], options: CallOptions | undefined) => Request,
    replica = 0,
    tried: readonly Server[] = [],
  ): Promise<{ result: unknown; indices: number[] }>[] {
    const router = this.#router;
    const hashKey = options?.hashKey;
    const groups =
      hashKey !== undefined || router.servers.length === 1
        ? new Map([[router.batchTarget(hashKey ?? list[0]!, replica, tried), list.map((_, i) => i)]])
        : router.group(list, replica, tried);
    const built: [Server | undefined, Request, number[]][] = [];
    try {
      for (const [server, indices] of groups) {
        const req = make(
          indices.map((i) => list[i]!),
          indices,
          options,
        );
        if (req.op === Op.GetMany && router.replicas > 1) req.split = router.replicas - replica;
        if (req.op !== Op.GetMany) {
          // Write batches: failures are remembered per server (the policy records them; no retries).
          req.policy = router;
          if (hashKey !== undefined) req.hashKey = hashKey;
          router.noteWrite(req);
        }
        built.push([server, req, indices]);
      }
    } catch (err) {
      for (const [, req] of built) req.fail(err);
      return [Promise.reject(err)];
    }
    return built.map(([server, req, indices]) =>
      this.#sendTo(server, req).then(
        (result) => ({ result, indices }),
        (err: unknown) => {
          // A batch read whose server failed or hung: ask the next replica for those keys, within what
          // is left of the caller's deadline.
          const left = req.finalDeadline - performance.now();
          const retryable = err instanceof ConnectionError || err instanceof TimeoutError;
          if (!retryable || !isRead(req.op) || replica + 1 >= router.replicas || left <= 1) throw err;
          const sub = indices.map((i) => list[i]!);
          const rest: CallOptions = { ...options, timeout: left };
          // The replicas' requests add their hits to the same result as this one (see #getMany).
          const next = server === undefined ? tried : [...tried, server];
          return Promise.all(this.#perServer(sub, rest, make, replica + 1, next)).then(() => ({
            result: req.result,
            indices,
          }));
        },
      ),
    );
  }

  // ── writes ──────────────────────────────────────────────────────────────────

  /** Stores `value`; resolves true when stored. */
  set(key: Key, value: unknown, options?: SetOptions): Promise<boolean> {
    return this.#store(0, key, value, options, null);
  }

  /** Stores only if the key does not exist; false otherwise. */
  add(key: Key, value: unknown, options?: SetOptions): Promise<boolean> {
    return this.#store(MODE_ADD, key, value, options, null);
  }

  /** Stores only if the key exists; false otherwise. */
  replace(key: Key, value: unknown, options?: SetOptions): Promise<boolean> {
    return this.#store(MODE_REPLACE, key, value, options, null);
  }

  /** Appends the value's bytes to the stored value (flags unchanged); false when the key is missing. */
  append(key: Key, value: unknown, options?: CallOptions): Promise<boolean> {
    return this.#store(MODE_APPEND, key, value, options, null);
  }

  /** Prepends the value's bytes to the stored value (flags unchanged); false when the key is missing. */
  prepend(key: Key, value: unknown, options?: CallOptions): Promise<boolean> {
    return this.#store(MODE_PREPEND, key, value, options, null);
  }

  /** Stores only if the item's CAS is still `cas` (from {@link Client.gets}); false when it changed or is gone. */
  cas(key: Key, value: unknown, cas: bigint, options?: SetOptions): Promise<boolean> {
    if (typeof cas !== "bigint" || cas < 0n || cas > U64_MAX) {
      return Promise.reject(new InvalidArgumentError("cas must be a bigint token from gets()"));
    }
    return this.#store(0, key, value, options, cas);
  }

  /** Deletes; resolves true when the key existed. */
  delete(key: Key, options?: CallOptions): Promise<boolean> {
    return this.#keyed(Op.Delete, this.#h.delete, key, options) as Promise<boolean>;
  }

  /** Adds `delta` to a counter (u64, wraps at 2^64); `undefined` when missing and no `initial` is given. */
  incr(key: Key, delta: bigint | number = 1n, options?: ArithOptions): Promise<bigint | undefined> {
    return this.#arith(0, key, delta, options);
  }

  /** Subtracts `delta` from a counter (clamps at 0); `undefined` when missing and no `initial` is given. */
  decr(key: Key, delta: bigint | number = 1n, options?: ArithOptions): Promise<bigint | undefined> {
    return this.#arith(MODE_DECR, key, delta, options);
  }

  /**
   * Stores several entries in one round trip (quiet `ms` batch). Resolves to one boolean per entry,
   * in order: true when stored.
   */
  async setMany(
    entries: Iterable<readonly [Key, unknown]> | Map<Key, unknown>,
    options?: SetOptions,
  ): Promise<boolean[]> {
    const list = Array.from(entries);
    if (list.length === 0) return [];
    const t = ttl(options?.ttl);
    // Encode every value first: a value that cannot be stored fails the call before anything is sent.
    const values: (string | Buffer)[] = new Array(list.length);
    const lengths: number[] = new Array(list.length);
    const flags: number[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      this.#encodeValue(list[i]![1], true);
      values[i] = this.#codec.data;
      lengths[i] = this.#codec.length;
      flags[i] = this.#codec.flags;
    }
    const keys = list.map((e) => e[0]);
    return this.#replicatedBatch(list.length, keys, options, (sub, indices) => {
      const req = this.#request(Op.StoreMany, this.#h.writeMany, options);
      req.ttl = t;
      const batch = this.#batch(sub);
      batch.values = indices.map((i) => values[i]!);
      batch.valueLengths = indices.map((i) => lengths[i]!);
      batch.valueFlags = indices.map((i) => flags[i]!);
      req.batch = batch;
      req.result = new Array<boolean>(sub.length).fill(true);
      this.#forgetBatch(batch);
      return req;
    });
  }

  /**
   * A batch write (setMany, deleteMany) to every replica: the owners' answers are the result; the
   * other copies are best effort (their failures do not fail the call).
   */
  #replicatedBatch(
    n: number,
    keys: readonly Key[],
    options: CallOptions | undefined,
    make: (keys: Key[], indices: number[], options: CallOptions | undefined) => Request,
  ): Promise<boolean[]> {
    for (let r = 1; r < this.#router.replicas && options?.hashKey === undefined; r++) {
      for (const p of this.#perServer(keys, options, make, r)) p.catch(ignore);
    }
    return this.#mergeBooleans(n, this.#perServer(keys, options, make));
  }

  /** Puts per-server boolean results back in the caller's order. */
  async #mergeBooleans(
    n: number,
    parts: Promise<{ result: unknown; indices: number[] }>[],
  ): Promise<boolean[]> {
    const out = new Array<boolean>(n).fill(false);
    for (const { result, indices } of await Promise.all(parts)) {
      const r = result as boolean[];
      indices.forEach((idx, j) => {
        out[idx] = r[j] === true;
      });
    }
    return out;
  }

  /** Deletes several keys in one round trip. Resolves to one boolean per key, in order: true when it existed. */
  async deleteMany(keys: Iterable<Key>, options?: CallOptions): Promise<boolean[]> {
    const list = Array.from(keys);
    if (list.length === 0) return [];
    return this.#replicatedBatch(list.length, list, options, (sub) => {
      const req = this.#request(Op.DeleteMany, this.#h.writeMany, options);
      req.batch = this.#batch(sub);
      req.result = new Array<boolean>(sub.length).fill(true);
      this.#forgetBatch(req.batch);
      return req;
    });
  }

  // ── stale-while-revalidate ──────────────────────────────────────────────────

  /**
   * Read-through with thundering-herd protection on the server, across processes. Meta protocol only:
   * with `protocol: "binary"` it rejects with {@link UnsupportedError}.
   *
   * One `mg <key> v f c t N<lockTtl> [R<recacheWithin>]`: a hit returns the value. On a miss the server
   * makes a stub and exactly one caller (across every client) wins (`W`): it runs `loader`, writes the
   * value back with `ms … C<cas> T<ttl>` and returns it. The others get a stale value at once when
   * there is one (`X`); otherwise they poll (5 ms, doubling to 20 ms) until the winner's value is there, up to
   * the call's deadline, after which they run `loader` themselves (`onLockTimeout: "load"`) or reject
   * with `TimeoutError` (`"throw"`). A winner that dies releases the herd after `lockTtl`. A loader
   * error reaches the caller that ran it. With `recacheWithin`, a value close to expiry is reloaded by
   * one caller while everyone else keeps getting it.
   */
  async fetch<T>(key: Key, loader: () => T | Promise<T>, options: FetchOptions = {}): Promise<T> {
    if (this.#o.protocol === "binary") throw metaOnly("fetch");
    if (typeof loader !== "function") throw new InvalidArgumentError("fetch needs a loader function");
    const lockTtl = seconds("lockTtl", options.lockTtl, 10, 1);
    const recache =
      options.recacheWithin === undefined ? -1 : seconds("recacheWithin", options.recacheWithin, 0, 1);
    ttl(options.ttl);
    if (options.staleTtl !== undefined) seconds("staleTtl", options.staleTtl, 0, 1);
    const local = this.#l1 === null ? "" : this.#localKey(key);
    if (this.#l1 !== null) {
      const hit = this.#l1.get(local);
      if (hit !== undefined) return hit.value as T;
    }
    const waitUntil = performance.now() + (options.timeout ?? this.#o.timeout);
    const call: CallOptions = options.signal === undefined ? {} : { signal: options.signal };
    if (options.timeout !== undefined) call.timeout = options.timeout;
    for (let delay = 5; ; delay = Math.min(delay * 2, 20)) {
      let r: FetchReply;
      try {
        r = await this.#fetchOnce(key, lockTtl, recache, call);
      } catch (err) {
        if (this.#l1 === null) throw err;
        return this.#staleOr(local, key, err) as T;
      }
      if (r.won) return this.#load(key, loader, r, options, local);
      if (r.hasValue) {
        this.#l1?.set(local, r.value);
        return r.value as T;
      }
      // Another caller is loading and there is nothing to serve yet: wait for its value.
      const left = waitUntil - performance.now();
      if (left <= 0) {
        if (options.onLockTimeout === "throw") {
          throw new TimeoutError("fetch: another caller's load did not finish within the deadline");
        }
        return this.#load(key, loader, r, options, local);
      }
      try {
        await sleep(
          Math.min(delay, left),
          undefined,
          call.signal === undefined ? undefined : { signal: call.signal },
        );
      } catch (err) {
        throw new AbortError("fetch was aborted while waiting for another caller's load", { cause: err });
      }
    }
  }

  /**
   * Marks the item stale instead of deleting it (`md <key> I T<staleTtl>`): the next {@link Client.fetch}
   * serves the stale value to everyone while one caller reloads it. Resolves true when the key existed.
   * Meta protocol only: with `protocol: "binary"` it rejects with {@link UnsupportedError}.
   */
  invalidate(key: Key, options?: InvalidateOptions): Promise<boolean> {
    if (this.#o.protocol === "binary") return Promise.reject(metaOnly("invalidate"));
    const staleTtl = options?.staleTtl ?? 30;
    return this.#keyed(Op.Invalidate, this.#h.delete, key, options, staleTtl) as Promise<boolean>;
  }

  #fetchOnce(key: Key, lockTtl: number, recache: number, options: CallOptions): Promise<FetchReply> {
    let req: Request;
    try {
      const token = this.#keys.encode(key);
      req = this.#request(Op.Fetch, this.#h.fetch, options);
      req.key = token;
      req.base64 = this.#keys.base64;
      req.ttl = lockTtl;
      req.recache = recache;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#send(req, options.hashKey ?? key) as Promise<FetchReply>;
  }

  /** The winner's part: run the loader, write back with the CAS it won, return the fresh value. */
  async #load<T>(
    key: Key,
    loader: () => T | Promise<T>,
    won: FetchReply,
    o: FetchOptions,
    local: string,
  ): Promise<T> {
    let value: T;
    try {
      value = await loader();
    } catch (err) {
      if (won.hasValue && o.staleTtl !== undefined)
        this.invalidate(key, { staleTtl: o.staleTtl }).catch(ignore);
      throw err;
    }
    const store: SetOptions = o.ttl === undefined ? {} : { ttl: o.ttl };
    try {
      // C<cas>: stored only if nobody invalidated or replaced the item meanwhile. If that is refused
      // because the stub expired (our lock ran out), add() stores it unless someone else has.
      if (!(await this.#store(0, key, value, store, won.cas))) await this.add(key, value, store);
    } catch {
      // The value is fresh: a failed cache write does not fail the call.
    }
    this.#l1?.set(local, value);
    return value;
  }

  // ── server commands ─────────────────────────────────────────────────────────

  /** `stats [group]` of every server that is up: `{ "host:port": { name: value } }`. */
  async stats(group = "", options?: CallOptions): Promise<Record<string, Record<string, string>>> {
    if (!/^[a-z_ ]*$/.test(group)) throw new InvalidArgumentError(`bad stats group ${JSON.stringify(group)}`);
    return this.#everyServer(false, () => {
      const req = this.#request(Op.Stats, this.#h.stats, options);
      req.arg = group;
      req.result = {};
      return req;
    }) as Promise<Record<string, Record<string, string>>>;
  }

  /** Version of every server that is up: `{ "host:port": "1.6.18" }`. */
  async version(options?: CallOptions): Promise<Record<string, string>> {
    return this.#everyServer(false, () => this.#request(Op.Version, this.#h.version, options)) as Promise<
      Record<string, string>
    >;
  }

  /** Invalidates every item on every server (`flush_all`), now or after `delay` seconds. Rejects if one cannot be reached. */
  async flush(options?: FlushOptions): Promise<void> {
    const delay = options?.delay;
    if (delay !== undefined && !(Number.isInteger(delay) && delay >= 0)) {
      throw new InvalidArgumentError("flush delay must be a non-negative integer (seconds)");
    }
    this.#l1?.clear();
    await this.#everyServer(true, () => {
      const req = this.#request(Op.Flush, this.#h.flush, options);
      req.arg = delay === undefined ? "" : String(delay);
      return req;
    });
  }

  /** A no-op round trip (`mn`) to every server: resolves when each has answered; rejects if one cannot be reached. */
  async ping(options?: CallOptions): Promise<void> {
    await this.#everyServer(true, () => this.#request(Op.Noop, this.#h.noop, options));
  }

  /** A snapshot of each server's state (and of the local cache, when there is one). */
  health(): { servers: ServerHealth[]; retries: number; failovers: number; localCache?: LocalCacheHealth } {
    const l1 = this.#l1;
    return {
      retries: this.#router.retried,
      failovers: this.#router.failedOver,
      servers: this.#router.allServers.map((s) => ({
        label: s.label,
        ...(s.gutter ? { gutter: true as const } : {}),
        state: s.state,
        failures: s.failures,
        nextProbeIn: s.nextProbeIn,
        inFlight: s.pool.inFlight,
        queued: s.pool.queued,
        pool: s.pool.stats,
        latency: Math.round(s.pool.latency * 1000) / 1000,
      })),
      ...(l1 === null
        ? {}
        : { localCache: { size: l1.size, hits: l1.hits, misses: l1.misses, staleServed: l1.staleServed } }),
    };
  }

  /**
   * Stops taking requests (they reject with `ClientClosedError`), waits for the ones under way to
   * finish or reach their deadline, then closes every socket. Leaves no timer or socket behind.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#router.close();
  }

  // ── internals ───────────────────────────────────────────────────────────────

  /**
   * Deletes `keys` on `server`, which answers probes again, before it takes traffic: it may hold
   * values older than writes it missed. Sent to its connection directly (the server is not up yet).
   */
  async #invalidateOn(server: Server, keys: { token: string; base64: boolean }[]): Promise<void> {
    for (let i = 0; i < keys.length; i += INVALIDATE_BATCH) {
      const part = keys.slice(i, i + INVALIDATE_BATCH);
      const tokens = part.map((k) => k.token);
      const marks = part.some((k) => k.base64) ? part.map((k) => k.base64) : null;
      const req = new Request(Op.DeleteMany, this.#h.writeMany, this.#o.connectTimeout);
      req.batch = new Batch(tokens, marks, tokens);
      req.result = new Array<boolean>(part.length).fill(true);
      server.send(req);
      await req.promise;
    }
  }

  /** The local cache's key for `key`: its wire token, marked when base64 (plain tokens have no spaces). */
  #localKey(key: Key): string {
    const token = this.#keys.encode(key);
    return this.#keys.base64 ? `${token} b` : token;
  }

  async #cachedGet(key: Key, options: CallOptions | undefined): Promise<unknown> {
    const l1 = this.#l1!;
    const local = this.#localKey(key);
    const hit = l1.get(local);
    if (hit !== undefined) return hit.value;
    try {
      const value = await this.#keyed(Op.Get, this.#h.get, key, options);
      if (value === undefined) l1.delete(local);
      else l1.set(local, value);
      return value;
    } catch (err) {
      return this.#staleOr(local, key, err);
    }
  }

  async #cachedGetMany(keys: Iterable<Key>, options: CallOptions | undefined): Promise<Map<Key, unknown>> {
    const l1 = this.#l1!;
    const out = new Map<Key, unknown>();
    const missing: Key[] = [];
    const locals: string[] = [];
    for (const k of keys) {
      const local = this.#localKey(k);
      const hit = l1.get(local);
      if (hit !== undefined) out.set(k, hit.value);
      else {
        missing.push(k);
        locals.push(local);
      }
    }
    if (missing.length === 0) return out;
    let got: Map<Key, unknown>;
    try {
      got = await this.#getMany(missing, options);
    } catch (err) {
      // Serve stale only when every key still missing has a stale entry: never a partial answer.
      const stale = locals.map((l) => (unreachable(err) ? l1.peekStale(l) : undefined));
      if (stale.some((s) => s === undefined)) throw err;
      missing.forEach((k, i) => {
        out.set(k, this.#staleOr(locals[i]!, k, err));
      });
      return out;
    }
    missing.forEach((k, i) => {
      if (got.has(k)) {
        const v = got.get(k);
        out.set(k, v);
        l1.set(locals[i]!, v);
      } else l1.delete(locals[i]!);
    });
    return out;
  }

  /** When the server cannot be reached, an entry within its stale-if-error window; else rethrows. */
  #staleOr(local: string, key: Key, err: unknown): unknown {
    if (unreachable(err)) {
      const stale = this.#l1?.stale(local);
      if (stale !== undefined) {
        this.emit("staleServed", { key, error: err });
        return stale.value;
      }
    }
    throw err;
  }

  #forgetBatch(batch: Batch): void {
    if (this.#l1 === null) return;
    for (let i = 0; i < batch.keys.length; i++) this.#forget(batch.keys[i]!, batch.keysBase64?.[i] === true);
  }

  /** Drops `key` from the local cache (a write through this client). */
  #forget(token: string, base64: boolean): void {
    this.#l1?.delete(base64 ? `${token} b` : token);
  }

  #request(op: Op, handler: ReplyHandler, options: CallOptions | undefined): Request {
    if (this.#closed) throw new ClientClosedError("the client is closed");
    let timeout = this.#o.timeout;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      if (options.timeout !== undefined) {
        timeout = options.timeout;
        if (!(typeof timeout === "number" && timeout > 0 && timeout < 2 ** 31)) {
          throw new InvalidArgumentError("timeout must be a positive number of ms");
        }
      }
      signal = options.signal;
      if (signal?.aborted)
        throw new AbortError("the request was aborted before it was sent", { cause: signal.reason });
    }
    const req = new Request(op, handler, timeout);
    req.context = this.#ctx;
    if (signal !== undefined) req.watch(signal);
    return req;
  }

  #keyed(
    op: Op,
    handler: ReplyHandler,
    key: Key,
    options: CallOptions | undefined,
    ttlSeconds?: number,
  ): Promise<unknown> {
    let req: Request;
    try {
      const token = this.#keys.encode(key);
      if (ttlSeconds !== undefined) {
        const t = ttl(ttlSeconds);
        req = this.#request(op, handler, options);
        req.ttl = t;
      } else req = this.#request(op, handler, options);
      req.key = token;
      req.base64 = this.#keys.base64;
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#l1 !== null && (op === Op.Delete || op === Op.Invalidate || op === Op.GetAndTouch)) {
      this.#forget(req.key, req.base64);
    }
    return this.#send(req, options?.hashKey ?? key);
  }

  #store(
    mode: number,
    key: Key,
    value: unknown,
    options: SetOptions | undefined,
    cas: bigint | null,
  ): Promise<boolean> {
    let req: Request;
    try {
      const token = this.#keys.encode(key);
      const base64 = this.#keys.base64;
      const t = ttl(options?.ttl);
      // Append/prepend data is glued to bytes stored earlier: it is never compressed.
      this.#encodeValue(value, mode !== MODE_APPEND && mode !== MODE_PREPEND);
      req = this.#request(Op.Store, this.#h.store, options);
      req.key = token;
      req.base64 = base64;
      req.ttl = t;
      req.mode = mode;
      req.cas = cas;
      req.value = this.#codec.data;
      req.valueLength = this.#codec.length;
      req.clientFlags = this.#codec.flags;
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.#l1 !== null) {
      this.#forget(req.key, req.base64);
      if (mode === 0 && cas === null) {
        // A plain set through this client: the local cache takes the new value once it is stored.
        const local = req.base64 ? `${req.key} b` : req.key;
        const l1 = this.#l1;
        return (this.#send(req, options?.hashKey ?? key) as Promise<boolean>).then((ok) => {
          if (ok) l1.set(local, value);
          return ok;
        });
      }
    }
    return this.#send(req, options?.hashKey ?? key) as Promise<boolean>;
  }

  #arith(
    mode: number,
    key: Key,
    delta: bigint | number,
    options: ArithOptions | undefined,
  ): Promise<bigint | undefined> {
    let req: Request;
    try {
      const token = this.#keys.encode(key);
      const base64 = this.#keys.base64;
      const d = u64("delta", delta);
      const initial = options?.initial === undefined ? null : u64("initial", options.initial);
      const t = ttl(options?.ttl);
      req = this.#request(Op.Arith, this.#h.arith, options);
      req.key = token;
      req.base64 = base64;
      req.mode = mode;
      req.delta = d;
      req.initial = initial;
      req.ttl = t;
    } catch (err) {
      return Promise.reject(err);
    }
    this.#forget(req.key, req.base64);
    const p = this.#send(req, options?.hashKey ?? key) as Promise<bigint | undefined>;
    if (this.#o.protocol !== "binary" || options?.ttl === undefined) return p;
    // Binary incr/decr set a TTL only on the counter they create; meta's `T` also renews an existing
    // one. A binary client renews it with a touch once the counter has changed, within the call's
    // deadline. Best effort: the counter did change, so a failed touch does not fail the call.
    const renew = { ...options, timeout: 0 };
    return p.then((value) => {
      renew.timeout = Math.floor(req.finalDeadline - performance.now());
      if (value === undefined || renew.timeout <= 0) return value;
      return this.touch(key, options.ttl!, renew).then(
        () => value,
        () => value,
      );
    });
  }

  /** Encodes (and, when `compress` and it pays, compresses) `value` into the codec's fields. */
  #encodeValue(value: unknown, compress: boolean): void {
    const c = this.#codec;
    c.encode(value, compress);
    if (c.length > this.#o.maxValueSize) {
      const how = (c.flags & COMPRESSION_MASK) !== 0 ? " (compressed)" : "";
      throw new ValueTooLargeError(
        `value is ${c.length} bytes encoded${how}; maxValueSize is ${this.#o.maxValueSize}`,
      );
    }
  }

  #batch(userKeys: readonly Key[]): Batch {
    const tokens: string[] = new Array(userKeys.length);
    let b64: boolean[] | null = null;
    for (let i = 0; i < userKeys.length; i++) {
      tokens[i] = this.#keys.encode(userKeys[i]!);
      if (this.#keys.base64) {
        b64 ??= new Array<boolean>(userKeys.length).fill(false);
        b64[i] = true;
      }
    }
    return new Batch(tokens, b64, userKeys);
  }

  /**
   * Sends a single-key request: to the owner of `hashKey`; with replicas, a read to the first replica
   * that is up and a write to all of them. The router's policy retries and fails it over on connection
   * errors (see {@link Router.onFail}).
   */
  #send(req: Request, hashKey: Key): Promise<unknown> {
    const router = this.#router;
    req.hashKey = hashKey;
    req.policy = router;
    if (retryable(req)) req.retries = this.#o.retries.attempts;
    router.noteWrite(req); // a no-op unless a server is away (and for reads)
    if (router.replicas === 1) return this.#sendTo(router.route(hashKey), req);
    if (isRead(req.op)) {
      req.split = router.replicas; // each replica gets its share of the deadline before the next is tried
      return this.#sendTo(router.routeRead(hashKey), req);
    }
    return this.#sendWrite(req, hashKey);
  }

  /**
   * A write to every replica of `hashKey` in parallel. Resolves with the first replica's answer that
   * arrived (owner first), rejects only when every replica failed. CAS tokens belong to one server, so
   * `cas` runs on the owner and, once it succeeds, its value is copied to the others with a plain set.
   */
  async #sendWrite(req: Request, hashKey: Key): Promise<unknown> {
    const owners = this.#router.replicasOf(hashKey);
    if (owners.length <= 1) return this.#sendTo(owners[0], req);
    if (req.op === Op.Store && req.cas !== null) {
      // Copies are made before sending (the request's fields are read by the encoder) and sent only
      // when the owner accepted the cas; otherwise they are dropped unsent, never settled or observed.
      const copies = owners.slice(1).map(() => {
        const c = req.clone();
        c.cas = null;
        return c;
      });
      const ok = await this.#sendTo(owners[0], req);
      if (ok === true) for (const [i, c] of copies.entries()) this.#sendTo(owners[i + 1], c).catch(ignore);
      else {
        for (const c of copies) {
          c.promise.catch(ignore);
          c.fail(new InvalidArgumentError("not sent: the owner refused the cas"));
        }
      }
      return ok;
    }
    const reqs = owners.map((_, i) => (i === 0 ? req : req.clone()));
    const settled = await Promise.allSettled(owners.map((s, i) => this.#sendTo(s, reqs[i]!)));
    for (const r of settled) if (r.status === "fulfilled") return r.value;
    throw (settled[0] as PromiseRejectedResult).reason;
  }

  /**
   * Sends `req` to `server` when it is up; otherwise fails it fast (`ServerUnavailableError`, or
   * `NoServersError` when no server can take it) without waiting. With `failOpen`, a read of an
   * unreachable server resolves as a miss instead.
   */
  #sendTo(server: Server | undefined, req: Request): Promise<unknown> {
    const p = tracing() ? this.#traced(server, req) : this.#dispatch(server, req);
    if (!this.#o.failOpen || !isRead(req.op)) return p;
    return p.catch((err: unknown) => {
      if (unreachable(err)) return missOf(req);
      throw err;
    });
  }

  #dispatch(server: Server | undefined, req: Request): Promise<unknown> {
    if (server !== undefined && server.state === "up") {
      if (server.gutter) this.#capTtl(req);
      req.server = server;
      server.send(req);
      return req.promise;
    }
    if (server !== undefined) req.server = server;
    if (this.#o.failOpen && isRead(req.op)) req.succeed(missOf(req));
    else if (server === undefined) req.fail(new NoServersError("no server is up to take the request"));
    else {
      req.fail(
        new ServerUnavailableError(`${server.label} is down; next probe in ${server.nextProbeIn} ms`, {
          server: server.label,
          cause: server.lastError,
        }),
      );
    }
    return req.promise;
  }

  /**
   * `#dispatch` inside the `memcachio:command` trace: start/end around the send, asyncStart/asyncEnd
   * (and error) when it settles. Published by hand rather than with `tracePromise`, which would put
   * the resolved value on the context: a context carries the outcome (`hit`, `found`), never a value.
   */
  #traced(server: Server | undefined, req: Request): Promise<unknown> {
    const ctx = this.#traceContext(server, req);
    const ch = commandChannel;
    ch.start.publish(ctx);
    let p: Promise<unknown>;
    try {
      p = this.#dispatch(server, req);
    } finally {
      ch.end.publish(ctx);
    }
    return p.then(
      (value) => {
        if (req.op === Op.GetMany) ctx.found = req.batch!.found;
        else if (req.op === Op.Fetch) ctx.hit = (value as FetchReply).hasValue && !(value as FetchReply).won;
        else if (isRead(req.op)) ctx.hit = value !== undefined;
        ch.asyncStart.publish(ctx);
        ch.asyncEnd.publish(ctx);
        return value;
      },
      (err: unknown) => {
        ctx.error = err;
        ch.error.publish(ctx);
        ch.asyncStart.publish(ctx);
        ch.asyncEnd.publish(ctx);
        throw err;
      },
    );
  }

  /** The `memcachio:command` context of a request (built only when someone listens). */
  #traceContext(server: Server | undefined, req: Request): CommandContext {
    const batch = req.batch;
    const ctx: CommandContext = {
      command: commandName(req),
      server: server?.label ?? "",
      keyCount: batch !== null ? batch.keys.length : req.key === "" ? 0 : 1,
      client: this,
    };
    if (this.#o.traceKeys) ctx.keys = batch !== null ? [...batch.keys] : req.key === "" ? [] : [req.key];
    return ctx;
  }

  /** A write on a gutter server lives at most `gutter.ttl` seconds (0 / none / longer → the cap). */
  #capTtl(req: Request): void {
    const cap = this.#o.gutter!.ttl;
    switch (req.op) {
      case Op.Store:
      case Op.StoreMany:
      case Op.Touch:
      case Op.GetAndTouch:
      case Op.Arith:
        if (req.ttl <= 0 || req.ttl > cap) req.ttl = cap;
    }
  }

  /** Sends one request (from `make`) to each server; `all`: every server, else only those up. */
  async #everyServer(all: boolean, make: () => Request): Promise<Record<string, unknown>> {
    const servers = this.#router.servers.filter((s) => all || s.state === "up");
    const reqs = servers.map(() => make());
    const results = await Promise.all(servers.map((s, i) => this.#sendTo(s, reqs[i]!)));
    const out: Record<string, unknown> = {};
    servers.forEach((s, i) => {
      out[s.label] = results[i];
    });
    return out;
  }
}

function ignore(): void {}

function metaOnly(command: string): UnsupportedError {
  return new UnsupportedError(
    `${command} needs the meta protocol (its win/stale flags have no binary equivalent); this client uses protocol: "binary"`,
  );
}
