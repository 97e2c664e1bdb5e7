/**
 * The public client: validates input, serialises values, builds requests and hands them to the
 * server's connection. The only place that serialises values (with `commands.ts`, its reply side).
 */
import { EventEmitter } from "node:events";
import {
  ARITH,
  DELETE,
  FLUSH,
  GET,
  GET_MANY,
  GETS,
  type GetsResult,
  NOOP,
  STATS,
  STORE,
  TOUCH,
  VERSION_HANDLER,
  WRITE_MANY,
} from "./commands.js";
import { Connection } from "./connection/connection.js";
import { AbortError, ClientClosedError, InvalidArgumentError, ValueTooLargeError } from "./errors.js";
import { type Key, KeyEncoder } from "./keys.js";
import { type CallOptions, type ClientOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { Batch, Op, type ReplyHandler, Request } from "./protocol/request.js";
import { ValueCodec } from "./serialization/codec.js";

/** Options of the storage commands. */
export interface SetOptions extends CallOptions {
  /** Time to live in seconds; 0 (default) = never expires. Over 30 days it is sent as an absolute Unix time. */
  ttl?: number;
}

/** Options of {@link Client.incr} / {@link Client.decr}. */
export interface ArithOptions extends CallOptions {
  /** Create the counter with this value when it is missing (else a missing key gives `undefined`). */
  initial?: bigint | number;
  /** TTL of a counter created by `initial`, and new TTL on success. */
  ttl?: number;
}

/** Options of {@link Client.flush}. */
export interface FlushOptions extends CallOptions {
  /** Invalidate in this many seconds instead of now. */
  delay?: number;
}

/** One server's state, in {@link Client.health}. */
export interface ServerHealth {
  /** `"host:port"`. */
  label: string;
  /** `"down"` while the last connection attempt failed (until one succeeds), else `"up"`. */
  state: "up" | "down";
  /** Requests written, reply pending. */
  inFlight: number;
  /** Requests waiting to be written. */
  queued: number;
}

/** Seconds in 30 days: memcached reads larger TTLs as absolute Unix times. */
const THIRTY_DAYS = 60 * 60 * 24 * 30;
const U64_MAX = (1n << 64n) - 1n;
const MODE_ADD = 0x45; // E
const MODE_APPEND = 0x41; // A
const MODE_PREPEND = 0x50; // P
const MODE_REPLACE = 0x52; // R
const MODE_DECR = 0x44; // D

/**
 * A memcached client over the meta protocol: pipelined, with a deadline on every request.
 *
 * Every command returns a promise; invalid input rejects with a typed error before anything is sent.
 * A miss resolves to `undefined`, a refused store to `false`; only transport, protocol and server
 * failures reject.
 *
 * This version talks to one server (the first of `servers`); sharding over several comes with the cluster.
 */
export class Client extends EventEmitter {
  readonly #o: ResolvedOptions;
  readonly #keys: KeyEncoder;
  readonly #codec: ValueCodec;
  readonly #conn: Connection;
  #closed = false;

  constructor(options: ClientOptions) {
    super();
    this.#o = resolveOptions(options);
    if (this.#o.servers.length !== 1) {
      throw new InvalidArgumentError(
        `this version of memcachio talks to exactly one server (got ${this.#o.servers.length}); sharding over several is not built yet`,
      );
    }
    this.#keys = new KeyEncoder(this.#o.keyPrefix);
    this.#codec = new ValueCodec(this.#o.codec);
    const s = this.#o.servers[0]!;
    this.#conn = new Connection({
      host: s.host,
      port: s.port,
      connectTimeout: this.#o.connectTimeout,
      socketTimeout: this.#o.socketTimeout,
      maxInFlight: this.#o.maxInFlight,
      maxQueue: this.#o.maxQueue,
      maxValueSize: this.#o.maxValueSize,
      reconnectDelay: this.#o.reconnectDelay,
      maxReconnectDelay: this.#o.maxReconnectDelay,
      keepAlive: this.#o.keepAlive,
    });
  }

  // ── reads ───────────────────────────────────────────────────────────────────

  /** The value stored at `key`, or `undefined` on a miss. */
  get<T = unknown>(key: Key, options?: CallOptions): Promise<T | undefined> {
    return this.#keyed(Op.Get, GET, key, options) as Promise<T | undefined>;
  }

  /** The value with its CAS token and client flags, or `undefined` on a miss. */
  gets<T = unknown>(key: Key, options?: CallOptions): Promise<GetsResult<T> | undefined> {
    return this.#keyed(Op.Gets, GETS, key, options) as Promise<GetsResult<T> | undefined>;
  }

  /** Sets a new TTL; resolves false when the key does not exist. */
  touch(key: Key, ttl: number, options?: CallOptions): Promise<boolean> {
    return this.#keyed(Op.Touch, TOUCH, key, options, ttl) as Promise<boolean>;
  }

  /** Reads the value and sets a new TTL; `undefined` on a miss. */
  getAndTouch<T = unknown>(key: Key, ttl: number, options?: CallOptions): Promise<T | undefined> {
    return this.#keyed(Op.GetAndTouch, GET, key, options, ttl) as Promise<T | undefined>;
  }

  /** Values of several keys in one round trip: a Map of the hits (misses are absent), keyed by the given keys. */
  getMany<K extends Key, T = unknown>(keys: Iterable<K>, options?: CallOptions): Promise<Map<K, T>> {
    let req: Request;
    try {
      const list = Array.from(keys);
      if (list.length === 0) return Promise.resolve(new Map());
      req = this.#request(Op.GetMany, GET_MANY, options);
      req.batch = this.#batch(list);
      req.result = new Map();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#send(req) as Promise<Map<K, T>>;
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
    return this.#keyed(Op.Delete, DELETE, key, options) as Promise<boolean>;
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
  setMany(
    entries: Iterable<readonly [Key, unknown]> | Map<Key, unknown>,
    options?: SetOptions,
  ): Promise<boolean[]> {
    let req: Request;
    try {
      const list = Array.from(entries);
      if (list.length === 0) return Promise.resolve([]);
      req = this.#request(Op.StoreMany, WRITE_MANY, options);
      req.ttl = ttl(options?.ttl);
      const batch = this.#batch(list.map((e) => e[0]));
      const values: (string | Buffer)[] = new Array(list.length);
      const lengths: number[] = new Array(list.length);
      const flags: number[] = new Array(list.length);
      for (let i = 0; i < list.length; i++) {
        this.#encodeValue(list[i]![1]);
        values[i] = this.#codec.data;
        lengths[i] = this.#codec.length;
        flags[i] = this.#codec.flags;
      }
      batch.values = values;
      batch.valueLengths = lengths;
      batch.valueFlags = flags;
      req.batch = batch;
      req.result = new Array<boolean>(list.length).fill(true);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#send(req) as Promise<boolean[]>;
  }

  /** Deletes several keys in one round trip. Resolves to one boolean per key, in order: true when it existed. */
  deleteMany(keys: Iterable<Key>, options?: CallOptions): Promise<boolean[]> {
    let req: Request;
    try {
      const list = Array.from(keys);
      if (list.length === 0) return Promise.resolve([]);
      req = this.#request(Op.DeleteMany, WRITE_MANY, options);
      req.batch = this.#batch(list);
      req.result = new Array<boolean>(list.length).fill(true);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#send(req) as Promise<boolean[]>;
  }

  // ── server commands ─────────────────────────────────────────────────────────

  /** `stats [group]` of every server: `{ "host:port": { name: value } }`. */
  async stats(group = "", options?: CallOptions): Promise<Record<string, Record<string, string>>> {
    if (!/^[a-z_ ]*$/.test(group)) throw new InvalidArgumentError(`bad stats group ${JSON.stringify(group)}`);
    const req = this.#request(Op.Stats, STATS, options);
    req.arg = group;
    req.result = {};
    return { [this.#conn.label]: (await this.#send(req)) as Record<string, string> };
  }

  /** Version string of every server: `{ "host:port": "1.6.18" }`. */
  async version(options?: CallOptions): Promise<Record<string, string>> {
    const req = this.#request(Op.Version, VERSION_HANDLER, options);
    return { [this.#conn.label]: (await this.#send(req)) as string };
  }

  /** Invalidates every item on every server (`flush_all`), now or after `delay` seconds. */
  async flush(options?: FlushOptions): Promise<void> {
    const delay = options?.delay;
    if (delay !== undefined && !(Number.isInteger(delay) && delay >= 0)) {
      throw new InvalidArgumentError("flush delay must be a non-negative integer (seconds)");
    }
    const req = this.#request(Op.Flush, FLUSH, options);
    req.arg = delay === undefined ? "" : String(delay);
    await this.#send(req);
  }

  /** A no-op round trip (`mn`) to every server: resolves when each has answered. */
  async ping(options?: CallOptions): Promise<void> {
    await this.#send(this.#request(Op.Noop, NOOP, options));
  }

  /** A snapshot of each server's state. */
  health(): { servers: ServerHealth[] } {
    const c = this.#conn;
    return {
      servers: [
        {
          label: c.label,
          state: c.unreachable ? "down" : "up",
          inFlight: c.inFlight,
          queued: c.queued,
        },
      ],
    };
  }

  /**
   * Stops taking requests (they reject with `ClientClosedError`), waits for the ones under way to
   * finish or reach their deadline, then closes every socket. Leaves no timer or socket behind.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#conn.close();
  }

  // ── internals ───────────────────────────────────────────────────────────────

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
    req.context = this.#codec;
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
    return this.#send(req);
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
      this.#encodeValue(value);
      req = this.#request(Op.Store, STORE, options);
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
    return this.#send(req) as Promise<boolean>;
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
      req = this.#request(Op.Arith, ARITH, options);
      req.key = token;
      req.base64 = base64;
      req.mode = mode;
      req.delta = d;
      req.initial = initial;
      req.ttl = t;
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#send(req) as Promise<bigint | undefined>;
  }

  #encodeValue(value: unknown): void {
    this.#codec.encode(value);
    if (this.#codec.length > this.#o.maxValueSize) {
      throw new ValueTooLargeError(
        `value is ${this.#codec.length} bytes encoded; maxValueSize is ${this.#o.maxValueSize}`,
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

  #send(req: Request): Promise<unknown> {
    this.#conn.send(req);
    return req.promise;
  }
}

/** TTL in seconds → memcached's form; -1 when not given. */
function ttl(seconds: number | undefined): number {
  if (seconds === undefined) return -1;
  if (!(typeof seconds === "number" && Number.isInteger(seconds) && seconds >= 0)) {
    throw new InvalidArgumentError(
      `ttl must be a non-negative integer number of seconds, got ${String(seconds)}`,
    );
  }
  if (seconds > THIRTY_DAYS) return Math.floor(Date.now() / 1000) + seconds;
  return seconds;
}

function u64(name: string, v: bigint | number): bigint {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
  else throw new InvalidArgumentError(`${name} must be a bigint or a safe integer`);
  if (b < 0n || b > U64_MAX) throw new InvalidArgumentError(`${name} must be between 0 and 2^64-1`);
  return b;
}
