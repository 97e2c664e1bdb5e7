/**
 * Client options: the user-facing shape, the defaults, and their validation.
 */
import { type Transport, transportOf } from "./connection/transport.js";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { Credentials } from "./connection/credentials.js";
import { InvalidArgumentError } from "./errors.js";
import { type LocalCacheOptions, localCacheOptions } from "./client/local-cache.js";
import type { Codec } from "./serialization/codec.js";
import { type CompressionOptions, Compressor } from "./serialization/compression.js";
import { type Defined, flag, positive, positiveInt } from "./client/arguments.js";
import {
  type BigValuesOptions,
  bigValuesOption,
  type ResolvedBigValues,
} from "./client/big-value-options.js";
import { withResolver } from "./client/names.js";
import { checkOptionNames } from "./client/option-names.js";
import { type ConnectionPoolOptions, resolvePool } from "./client/pool-options.js";
import {
  type AuthOptions,
  checkBehindProxy,
  credentials,
  type Protocol,
  type ProxyKind,
  protocolOption,
  proxyOption,
  tlsOption,
  type WireOptions,
} from "./client/wire-options.js";
import {
  type DiscoveryOptions,
  type DnsOptions,
  discoveryOptions,
  dnsOptions,
  type HedgeOptions,
  hedgeOptions,
  type ResolvedDiscovery,
  type ResolvedDns,
  type ResolvedWarmUp,
  type TopologyOptions,
  type WarmUpOptions,
  warmUpOptions,
  zoneOptions,
} from "./client/topology-options.js";
import {
  type DnsEntry,
  parseServerList,
  parseServers,
  type ServerAddress,
  type ServerSpec,
  type ZoneOf,
} from "./util/servers.js";

export type {
  AuthOptions,
  BigValuesOptions,
  DiscoveryOptions,
  DnsOptions,
  HedgeOptions,
  Protocol,
  ProxyKind,
  ServerAddress,
  ServerSpec,
  WarmUpOptions,
};

/** Options of {@link Client}. Every field is optional except `servers` (or `discovery`). */
export interface ClientOptions extends TopologyOptions, WireOptions {
  /**
   * Hedged reads, with `replicas` > 1 (with one copy per key there is nowhere to hedge, and the
   * option does nothing): a get, getAndTouch or getMany batch not answered within `after` ms
   * (or `"p95"`: its server's recent 95th percentile) is also sent to the key's next replica; the
   * first answer wins. Hedges stay under `maxExtraLoad` of reads (default 0.05). Writes never are.
   */
  hedge?: HedgeOptions | undefined;
  /** Default deadline of each request in ms, from the call to the reply (queue + write + reply). Default 250. */
  timeout?: number | undefined;
  /** Deadline to establish a connection, ms. Default 1000. */
  connectTimeout?: number | undefined;
  /**
   * A connection that owes replies and receives no byte for this long is declared hung and destroyed,
   * failing its requests. Default: `timeout`.
   */
  socketTimeout?: number | undefined;
  /**
   * Connections per server: `min` kept once the server has had traffic, up to `max` (another is opened
   * when the least-loaded one is half full of requests), and one above `min` unused for
   * `idleTimeoutMillis` is closed. Default `{ min: 1, max: 2, idleTimeoutMillis: 30_000, reconnectIdleMillis: 0 }`.
   */
  pool?: ConnectionPoolOptions | undefined;
  /** Requests written on one connection before further ones wait in the queue. Default 1024. */
  maxInFlight?: number | undefined;
  /** Requests waiting per server (not yet written, over all its connections) before `QueueFullError`. Default 10,000. */
  maxQueue?: number | undefined;
  /** Largest encoded value accepted, bytes. Default 1 MiB − 512 (fits memcached's default `-I 1m` item size). */
  maxValueSize?: number | undefined;
  /** Prepended to every key on the wire (counted in the 250-byte limit). Default none. */
  keyPrefix?: string | undefined;
  /** Value codec; the default one is described in the README ("Values and flags"). */
  codec?: Codec | undefined;
  /**
   * Copy each Buffer (or Uint8Array) value at the call, so that changing it afterwards changes nothing
   * stored. Default true. `false` writes the caller's memory as it is, one copy less: the buffer is
   * handed over and must not change after the call, even once it settled (see the README).
   */
  copyBuffers?: boolean | undefined;
  /**
   * Compress values of at least `threshold` bytes (default 16,384) with `algorithm` (`"deflate"`, the
   * default, or `"brotli"`) at `level`, keeping the compressed form only when it saves 10 % or more; it
   * is marked in the client flags (0x10 deflate, 0x20 brotli). A value may then be bigger than
   * `maxValueSize` before compression, up to `maxDecompressedSize` (default 32 MiB). Append and prepend
   * data is never compressed. With the default codec, compressed values are read back whether or not
   * this option is set (with a user `codec`, only when it is). Off by default.
   */
  compression?: CompressionOptions | false | undefined;
  /**
   * Values over the item size: one whose encoded size is over `threshold` (default `maxValueSize`) is
   * stored as chunks in mcrouter's BigValueRoute format, up to `maxSize` (default 64 MiB). Off by default.
   */
  bigValues?: BigValuesOptions | false | undefined;
  /**
   * Failure detection per server: after `failureThreshold` consecutive connection errors or timeouts
   * (a refused connection counts at once) the server is down; after `retryDelay` ms (doubling up to
   * `maxRetryDelay`, jittered) one probe is let through, and it is up again when the probe succeeds.
   * `eject: true` takes a down server out of the ring (its keys go to their next owner); `false` fails
   * its keys fast. Defaults: 3, 1000, 30,000, true.
   */
  failover?: FailoverOptions | undefined;
  /**
   * A gutter pool (Facebook's "Scaling Memcache"): while a key's owner is down, its reads and writes go
   * to these servers, with TTLs capped at `ttl` seconds, instead of moving to healthy servers (which
   * could overload them). With a gutter, `failover.eject` does not apply. Off by default.
   */
  gutter?:
    | {
        /** The gutter servers, as in `servers` (no `dns+` or `dnssrv+` entry). */
        servers: ServerSpec[] | string;
        /** Longest TTL of an item written to the gutter, seconds (a positive integer). */
        ttl: number;
      }
    | undefined;
  /**
   * Reads (get, gets, getAndTouch, getMany, fetch) of an unreachable server resolve as misses. Writes
   * still reject with a `ConnectionError`: whether a write happened is the caller's to know. Default false.
   */
  failOpen?: boolean | undefined;
  /**
   * Copies of each key (1 = no replication). Writes go to the key's `replicas` servers on the ring in
   * parallel; reads go to the first one that is up and fail over down the list within the deadline.
   */
  replicas?: number | undefined;
  /**
   * Retries of idempotent commands (get, gets, getAndTouch, touch, delete, set, fetch, invalidate) after
   * a connection failure, with exponential backoff, inside the caller's deadline. Never incr, decr,
   * append, prepend, add, replace or cas. Default `{ attempts: 2, baseDelay: 5, maxDelay: 50 }`.
   */
  retries?:
    | {
        /** Retries after the first try; 0 turns retries off. Default 2. */
        attempts?: number | undefined;
        /** Ms before the first retry, doubling with each one up to `maxDelay` (jittered). Default 5. */
        baseDelay?: number | undefined;
        /** Longest wait between retries, ms. Default 50. */
        maxDelay?: number | undefined;
      }
    | undefined;
  /** TCP keep-alive on the sockets. Default true. */
  keepAlive?: boolean | undefined;
  /**
   * Idle connections do not keep the process alive (as `allowExitOnIdle` in node-postgres): a script
   * that forgets `close()` still exits. A connection with requests in flight always does. Default true.
   */
  allowExitOnIdle?: boolean | undefined;
  /** Put the keys (as sent) in `memcachio:command` trace contexts. Default false: keys are never published. */
  traceKeys?: boolean | undefined;
  /**
   * Record where each command is called, and end the stack of a memcachio error it rejects with by the
   * caller's frames (a timeout or a connection's failure, found on a timer or a socket event, otherwise
   * has none). Costs a stack capture per call: on while developing or chasing an error. Default false.
   */
  captureCallSite?: boolean | undefined;
  /**
   * An in-process L1 in front of the network for `get`, `getMany` and `fetch`: `{ max, ttl }` (entries,
   * ms), and `staleIfError` (ms) to serve an expired entry when the server cannot be reached. Off by default.
   */
  localCache?: LocalCacheOptions | undefined;
}

/** Failure detection per server: the `failover` option of {@link ClientOptions}. */
export interface FailoverOptions {
  /** Consecutive connection errors or timeouts that put a server down (a refused connection does so at once). Default 3. */
  failureThreshold?: number | undefined;
  /** Ms before a down server's first probe; doubles per failed probe up to `maxRetryDelay`, jittered. Default 1000. */
  retryDelay?: number | undefined;
  /** Longest wait between probes, ms. Default 30,000. */
  maxRetryDelay?: number | undefined;
  /** `true`: a down server leaves the ring, its keys going to their next owner; `false`: they fail fast. Default true. */
  eject?: boolean | undefined;
}

/** Per-call options, accepted by every command. */
export interface CallOptions {
  /** Deadline of this call, ms (overrides the client's `timeout`). */
  timeout?: number | undefined;
  /** Aborts the call: before it is written it is never sent; after, its reply is dropped. */
  signal?: AbortSignal | undefined;
  /** Route by this key instead of the item's key (co-locates related keys on one server). */
  hashKey?: string | Buffer | undefined;
}

/** Options of the storage commands. */
export interface SetOptions extends CallOptions {
  /** Time to live in seconds; 0 (default) = never expires. Over 30 days it is sent as an absolute Unix time. */
  ttl?: number | undefined;
}

/** Options of `Client.incr` / `Client.decr`. */
export interface ArithOptions extends CallOptions {
  /** Create the counter with this value when it is missing (else a missing key gives `undefined`). */
  initial?: bigint | number | undefined;
  /**
   * TTL of a counter created by `initial`, and new TTL on success. (Binary: incr/decr set it only on
   * creation, so the client renews it with a `touch` after a successful call, inside its deadline.)
   */
  ttl?: number | undefined;
}

/** Options of `Client.flush`. */
export interface FlushOptions extends CallOptions {
  /** Invalidate in this many seconds instead of now. */
  delay?: number | undefined;
}

/** Options of `Client.fetch`. */
export interface FetchOptions extends CallOptions {
  /** TTL of the loaded value, seconds. Default 0 (never expires). */
  ttl?: number | undefined;
  /**
   * Seconds the caller that wins a miss holds the right to load (the `N` stub's TTL). If it dies
   * without writing back, the herd is released after this. Default 10.
   */
  lockTtl?: number | undefined;
  /** Refresh early: when the remaining TTL is below this many seconds, one caller reloads while the rest keep the value. */
  recacheWithin?: number | undefined;
  /**
   * When the winner's loader fails on an item that still has a value (stale or being recached), re-mark
   * it stale for this many seconds (`md … I T`): the others keep the stale value and the next caller may
   * retry at once. Without it, the item keeps its claim until it expires.
   */
  staleTtl?: number | undefined;
  /** When another caller's load outlasts this call's deadline: `"load"` (default) runs the loader here; `"throw"` rejects with `TimeoutError`. */
  onLockTimeout?: "load" | "throw" | undefined;
}

/** Options of `Client.invalidate`. */
export interface InvalidateOptions extends CallOptions {
  /** Seconds the stale item stays servable. Default 30. */
  staleTtl?: number | undefined;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  /** Fixed addresses of `servers`. */
  servers: ServerAddress[];
  /** `dns+` and `dnssrv+` entries of `servers`. */
  names: DnsEntry[];
  dns: ResolvedDns;
  discovery: ResolvedDiscovery | null;
  warmUp: ResolvedWarmUp | null;
  zone: string | null;
  zoneOf: ZoneOf | null;
  hedge: Defined<HedgeOptions> | null;
  protocol: Protocol;
  proxy: ProxyKind | null;
  tls: TlsConnectionOptions | null;
  auth: Credentials | null;
  timeout: number;
  connectTimeout: number;
  socketTimeout: number;
  pool: Defined<ConnectionPoolOptions>;
  maxInFlight: number;
  maxQueue: number;
  maxValueSize: number;
  keyPrefix: string;
  codec: Codec | null;
  copyBuffers: boolean;
  compression: Compressor | null;
  bigValues: ResolvedBigValues | null;
  failover: Defined<FailoverOptions>;
  failOpen: boolean;
  gutter: { servers: ServerAddress[]; ttl: number } | null;
  replicas: number;
  retries: { attempts: number; baseDelay: number; maxDelay: number };
  keepAlive: boolean;
  allowExitOnIdle: boolean;
  traceKeys: boolean;
  captureCallSite: boolean;
  localCache: LocalCacheOptions | null;
  /** Sockets from a stand-in for the network (the simulator's), or null. */
  transport: Transport | null;
}

/** Where `new Client()` looks for memcached: this machine, memcached's default port. */
export const DEFAULT_SERVER = "127.0.0.1:11211";

/**
 * Default `maxValueSize`: 1 MiB (memcached's default item size, `-I 1m`) less 512 bytes for the item
 * header and the longest key, so that every value under it is storable on a default server and every
 * value over it is refused here with `ValueTooLargeError` (memcached 1.6.18 takes up to ~1 MiB − 330).
 */
export const DEFAULT_MAX_VALUE_SIZE = 1024 * 1024 - 512;

export function resolveOptions(o: ClientOptions): ResolvedOptions {
  if (o === null || typeof o !== "object") throw new InvalidArgumentError("options must be an object");
  checkOptionNames(o);
  const timeout = positive("timeout", o.timeout, 250);
  const discovery = discoveryOptions(o.discovery);
  const proxy = proxyOption(o.proxy);
  const list =
    o.servers === undefined && discovery !== null
      ? { addresses: [], names: [] }
      : parseServerList((o.servers ?? DEFAULT_SERVER) as ServerSpec[] | string);
  const resolved: ResolvedOptions = {
    servers: list.addresses,
    names: list.names,
    dns: withResolver(dnsOptions(o.dns), o),
    discovery,
    warmUp: warmUpOptions(o.warmUp),
    ...zoneOptions(o),
    hedge: hedgeOptions(o.hedge),
    protocol: protocolOption(o.protocol, proxy),
    proxy,
    tls: tlsOption(o.tls),
    auth: o.auth === undefined ? null : credentials(o.auth),
    timeout,
    connectTimeout: positive("connectTimeout", o.connectTimeout, 1000),
    socketTimeout: positive("socketTimeout", o.socketTimeout, timeout),
    pool: resolvePool(o.pool ?? {}),
    maxInFlight: positiveInt("maxInFlight", o.maxInFlight, 1024),
    maxQueue: positiveInt("maxQueue", o.maxQueue, 10_000),
    maxValueSize: positiveInt("maxValueSize", o.maxValueSize, DEFAULT_MAX_VALUE_SIZE),
    keyPrefix: o.keyPrefix ?? "",
    codec: o.codec ?? null,
    copyBuffers: flag("copyBuffers", o.copyBuffers, true),
    compression:
      o.compression === undefined || o.compression === false ? null : new Compressor(o.compression),
    bigValues: null,
    failover: failover(o.failover ?? {}),
    failOpen: flag("failOpen", o.failOpen, false),
    gutter: o.gutter === undefined ? null : gutter(o.gutter),
    replicas: positiveInt("replicas", o.replicas, 1),
    retries: Object.freeze({
      attempts: o.retries?.attempts === 0 ? 0 : positiveInt("retries.attempts", o.retries?.attempts, 2),
      baseDelay: positive("retries.baseDelay", o.retries?.baseDelay, 5),
      maxDelay: positive("retries.maxDelay", o.retries?.maxDelay, 50),
    }),
    keepAlive: flag("keepAlive", o.keepAlive, true),
    allowExitOnIdle: flag("allowExitOnIdle", o.allowExitOnIdle, true),
    traceKeys: flag("traceKeys", o.traceKeys, false),
    captureCallSite: flag("captureCallSite", o.captureCallSite, false),
    localCache: o.localCache === undefined ? null : localCacheOptions(o.localCache),
    transport: transportOf(o),
  };
  if (typeof resolved.keyPrefix !== "string") throw new InvalidArgumentError("keyPrefix must be a string");
  if (
    resolved.codec !== null &&
    (typeof resolved.codec.encode !== "function" || typeof resolved.codec.decode !== "function")
  ) {
    throw new InvalidArgumentError("codec must have encode(value) and decode(data, flags)");
  }
  resolved.bigValues = bigValuesOption(o.bigValues, resolved.maxValueSize);
  checkBehindProxy(resolved);
  return Object.freeze(resolved);
}

function gutter(g: NonNullable<ClientOptions["gutter"]>): { servers: ServerAddress[]; ttl: number } {
  if (g === null || typeof g !== "object") throw new InvalidArgumentError("gutter must be { servers, ttl }");
  const ttl = g.ttl;
  if (!(Number.isInteger(ttl) && ttl > 0))
    throw new InvalidArgumentError("gutter.ttl must be a positive integer (seconds)");
  return Object.freeze({ servers: parseServers(g.servers), ttl });
}

function failover(f: FailoverOptions): Defined<FailoverOptions> {
  if (f === null || typeof f !== "object") throw new InvalidArgumentError("failover must be an object");
  const retryDelay = positive("failover.retryDelay", f.retryDelay, 1000);
  return Object.freeze({
    failureThreshold: positiveInt("failover.failureThreshold", f.failureThreshold, 3),
    retryDelay,
    maxRetryDelay: Math.max(retryDelay, positive("failover.maxRetryDelay", f.maxRetryDelay, 30_000)),
    eject: f.eject ?? true,
  });
}
