/**
 * The public client: validates input, encodes keys and values into a {@link Frame}, wraps it in a
 * {@link Call} and hands it to the cluster, which routes it and settles it. The client layer is the
 * only one that serialises values (here, and in the reply handlers that decode them).
 */
import { metaOnly, U64_MAX } from "./client/arguments.js";
import { assemble } from "./client/assemble.js";
import { recordCallSites } from "./client/call-site.js";
import { invalidOptions, optionsAreValid, refuse, SHAPES } from "./client/call-options.js";
import { Dispatch } from "./client/dispatch.js";
import { Counters } from "./client/counters.js";
import { ClientEmitter } from "./client/events.js";
import type { CallBuilder } from "./client/call-builder.js";
import { type FetchHost, fetchThrough } from "./client/fetch.js";
import { type Health, healthOf } from "./client/health.js";
import type { LocalReads } from "./client/local-reads.js";
import type { GetsResult, Handlers } from "./client/replies.js";
import { ServerCommands } from "./client/server-commands.js";
import type { Cluster } from "./cluster/cluster.js";
import type { Membership, TopologyChange } from "./cluster/membership.js";
import type { Topology } from "./client/topology.js";
import { InvalidArgumentError } from "./errors.js";
import type { Key } from "./keys.js";
import {
  type ArithOptions,
  type CallOptions,
  type ClientOptions,
  type FetchOptions,
  type FlushOptions,
  type InvalidateOptions,
  type ResolvedOptions,
  resolveOptions,
  type ServerSpec,
  type SetOptions,
} from "./options.js";
import { MODE_ADD, MODE_APPEND, MODE_DECR, MODE_PREPEND, MODE_REPLACE, Op } from "./protocol/frame.js";

export type { LocalCacheHealth, ServerHealth, TopologyCounts } from "./client/health.js";
export type { ClientEvents } from "./client/events.js";

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
 * Events (never `error`): see {@link ClientEvents}.
 */
export class Client extends ClientEmitter {
  readonly #options: ResolvedOptions;
  /** Checks input and builds calls. */
  readonly #build: CallBuilder;
  /** Builds and sends calls, keeping the local cache true to writes. */
  readonly #send: Dispatch;
  readonly #membership: Membership;
  readonly #cluster: Cluster;
  readonly #topology: Topology;
  /** Reads through the local cache, or null without one. */
  readonly #local: LocalReads | null;
  /** Reply handlers of the protocol spoken, decoding with this client's codec. */
  readonly #handlers: Handlers;
  /** stats, version, flush, ping. */
  readonly #servers: ServerCommands;
  /** What `fetch` needs from this client. */
  readonly #fetchHost: FetchHost;
  /** incr/decr, with what each protocol lacks done client-side. */
  readonly #counters: Counters;

  /** `new Client()` talks to a memcached on this machine, `127.0.0.1:11211`. */
  constructor(options: ClientOptions = {}) {
    super();
    const o = resolveOptions(options);
    this.#options = o;
    const parts = assemble(o, this);
    if (o.captureCallSite) recordCallSites(this);
    this.#build = parts.build;
    this.#handlers = parts.handlers;
    this.#membership = parts.membership;
    this.#cluster = parts.cluster;
    this.#topology = parts.topology;
    this.#local = parts.local;
    this.#send = new Dispatch(parts.build, parts.cluster, parts.local, parts.handlers, parts.big);
    this.#servers = new ServerCommands(parts.cluster, parts.build);
    this.#counters = new Counters({
      protocol: o.protocol,
      build: parts.build,
      cluster: parts.cluster,
      local: parts.local,
      touch: (key, ttl, options) =>
        this.#send.keyed(Op.Touch, this.#handlers.touch, key, options, ttl) as Promise<boolean>,
    });
    this.#fetchHost = {
      timeout: o.timeout,
      local: this.#local,
      fetchOnce: (key, lockTtl, recache, call) => this.#send.fetchOnce(key, lockTtl, recache, call),
      // The write-back is part of fetch: traced (and counted) as `fetch`, not as cas or add.
      storeIfCas: (key, value, store, cas) => this.#send.store(0, key, value, store, cas, "fetch"),
      add: (key, value, store) => this.#send.store(MODE_ADD, key, value, store, null, "fetch"),
      invalidate: (key, again) => this.invalidate(key, again),
    };
  }

  // ── reads ───────────────────────────────────────────────────────────────────

  /** The value stored at `key`, or `undefined` on a miss. Served from the local cache when it has it. */
  get<T = unknown>(key: Key, options?: CallOptions): Promise<T | undefined> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.get)) return refuse(options, SHAPES.get);
    if (this.#local !== null) return this.#local.get(key, options, this.#getBound) as Promise<T | undefined>;
    return this.#send.keyed(Op.Get, this.#handlers.get, key, options) as Promise<T | undefined>;
  }

  readonly #getBound = (key: Key, options: CallOptions | undefined) =>
    this.#send.keyed(Op.Get, this.#handlers.get, key, options);

  /** The value with its CAS token and client flags, or `undefined` on a miss. */
  gets<T = unknown>(key: Key, options?: CallOptions): Promise<GetsResult<T> | undefined> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.gets)) return refuse(options, SHAPES.gets);
    return this.#send.keyed(Op.Gets, this.#handlers.gets, key, options) as Promise<GetsResult<T> | undefined>;
  }

  /** Sets a new TTL; resolves false when the key does not exist. */
  touch(key: Key, ttl: number, options?: CallOptions): Promise<boolean> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.touch))
      return refuse(options, SHAPES.touch);
    return this.#send.keyed(Op.Touch, this.#handlers.touch, key, options, ttl) as Promise<boolean>;
  }

  /** Reads the value and sets a new TTL; `undefined` on a miss. */
  getAndTouch<T = unknown>(key: Key, ttl: number, options?: CallOptions): Promise<T | undefined> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.getAndTouch))
      return refuse(options, SHAPES.getAndTouch);
    return this.#send.keyed(Op.GetAndTouch, this.#handlers.get, key, options, ttl) as Promise<T | undefined>;
  }

  /**
   * Values of several keys in one round trip: a Map of the hits (misses are absent), keyed by the given
   * keys. The value type comes first, as in {@link Client.get}: `getMany<User>(ids)` is a
   * `Map<string, User>` for string keys; `getMany<User, K>(keys)` keeps a narrower key type. At most
   * 16,777,215 keys go to the servers in one call (`InvalidArgumentError` beyond; with `localCache`,
   * keys it answers are not counted).
   */
  getMany<T = unknown>(keys: Iterable<string>, options?: CallOptions): Promise<Map<string, T>>;
  getMany<T = unknown, K extends Key = Key>(keys: Iterable<K>, options?: CallOptions): Promise<Map<K, T>>;
  getMany<T = unknown, K extends Key = Key>(keys: Iterable<K>, options?: CallOptions): Promise<Map<K, T>> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.getMany))
      return refuse(options, SHAPES.getMany);
    if (this.#local !== null)
      return this.#local.getMany(keys, options, this.#send.getMany) as Promise<Map<K, T>>;
    return this.#send.getMany(Array.from(keys), options) as Promise<Map<K, T>>;
  }

  // ── writes ──────────────────────────────────────────────────────────────────

  /** Stores `value`; resolves true when stored. */
  set(key: Key, value: unknown, options?: SetOptions): Promise<boolean> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.set)) return refuse(options, SHAPES.set);
    return this.#send.store(0, key, value, options, null);
  }

  /** Stores only if the key does not exist; false otherwise. */
  add(key: Key, value: unknown, options?: SetOptions): Promise<boolean> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.add)) return refuse(options, SHAPES.add);
    return this.#send.store(MODE_ADD, key, value, options, null);
  }

  /** Stores only if the key exists; false otherwise. */
  replace(key: Key, value: unknown, options?: SetOptions): Promise<boolean> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.replace))
      return refuse(options, SHAPES.replace);
    return this.#send.store(MODE_REPLACE, key, value, options, null);
  }

  /** Appends the value's bytes to the stored value (flags unchanged); false when the key is missing. */
  append(key: Key, value: unknown, options?: CallOptions): Promise<boolean> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.append))
      return refuse(options, SHAPES.append);
    return this.#send.store(MODE_APPEND, key, value, options, null);
  }

  /** Prepends the value's bytes to the stored value (flags unchanged); false when the key is missing. */
  prepend(key: Key, value: unknown, options?: CallOptions): Promise<boolean> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.prepend))
      return refuse(options, SHAPES.prepend);
    return this.#send.store(MODE_PREPEND, key, value, options, null);
  }

  /** Stores only if the item's CAS is still `cas` (from {@link Client.gets}); false when it changed or is gone. */
  cas(key: Key, value: unknown, cas: bigint, options?: SetOptions): Promise<boolean> {
    if (typeof cas !== "bigint" || cas < 0n || cas > U64_MAX) {
      return Promise.reject(new InvalidArgumentError("cas must be a bigint token from gets()"));
    }
    if (options !== undefined && !optionsAreValid(options, SHAPES.cas)) return refuse(options, SHAPES.cas);
    return this.#send.store(0, key, value, options, cas);
  }

  /** Deletes; resolves true when the key existed. */
  delete(key: Key, options?: CallOptions): Promise<boolean> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.delete))
      return refuse(options, SHAPES.delete);
    return this.#send.keyed(Op.Delete, this.#handlers.delete, key, options) as Promise<boolean>;
  }

  /** Adds `delta` to a counter (u64, wraps at 2^64); `undefined` when missing and no `initial` is given. */
  incr(key: Key, delta: bigint | number = 1n, options?: ArithOptions): Promise<bigint | undefined> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.incr)) return refuse(options, SHAPES.incr);
    return this.#counters.run(0, key, delta, options);
  }

  /** Subtracts `delta` from a counter (clamps at 0); `undefined` when missing and no `initial` is given. */
  decr(key: Key, delta: bigint | number = 1n, options?: ArithOptions): Promise<bigint | undefined> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.decr)) return refuse(options, SHAPES.decr);
    return this.#counters.run(MODE_DECR, key, delta, options);
  }

  /**
   * Stores several entries in one round trip (quiet `ms` batch). Resolves to one boolean per entry,
   * in order: true when stored. At most 16,777,215 entries per call.
   */
  async setMany(
    entries: Iterable<readonly [Key, unknown]> | Map<Key, unknown>,
    options?: SetOptions,
  ): Promise<boolean[]> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.setMany))
      throw invalidOptions(options, SHAPES.setMany);
    const list = Array.from(entries);
    if (list.length === 0) return [];
    return this.#send.storeMany(list, options);
  }

  /**
   * Deletes several keys in one round trip. Resolves to one boolean per key, in order: true when it
   * existed. At most 16,777,215 keys per call.
   */
  async deleteMany(keys: Iterable<Key>, options?: CallOptions): Promise<boolean[]> {
    if (options !== undefined && !optionsAreValid(options, SHAPES.deleteMany))
      throw invalidOptions(options, SHAPES.deleteMany);
    const list = Array.from(keys);
    if (list.length === 0) return [];
    const call = this.#send.batch(Op.DeleteMany, this.#handlers.writeMany, list, options);
    call.result = new Array<boolean>(list.length).fill(false);
    return this.#cluster.execute(call) as Promise<boolean[]>;
  }

  // ── stale-while-revalidate ──────────────────────────────────────────────────

  /**
   * Read-through with thundering-herd protection on the server, across processes (see
   * `client/fetch.ts`). Meta protocol only: with `"binary"` or `"text"` it rejects with
   * {@link UnsupportedError}. A winner that dies releases the herd after `lockTtl`; a loader error
   * reaches the caller that ran it. With `recacheWithin`, a value close to expiry is reloaded by one
   * caller while everyone else keeps getting it.
   */
  async fetch<T>(key: Key, loader: () => T | Promise<T>, options: FetchOptions = {}): Promise<T> {
    if (!optionsAreValid(options, SHAPES.fetch)) throw invalidOptions(options, SHAPES.fetch);
    if (this.#options.protocol !== "meta") throw metaOnly("fetch", this.#options.protocol);
    return fetchThrough(this.#fetchHost, key, loader, options);
  }

  /**
   * Marks the item stale instead of deleting it (`md <key> I T<staleTtl>`): the next {@link Client.fetch}
   * serves the stale value to everyone while one caller reloads it. Resolves true when the key existed.
   * Meta protocol only: with `"binary"` or `"text"` it rejects with {@link UnsupportedError}.
   */
  invalidate(key: Key, options?: InvalidateOptions): Promise<boolean> {
    if (this.#options.protocol !== "meta")
      return Promise.reject(metaOnly("invalidate", this.#options.protocol));
    if (options !== undefined && !optionsAreValid(options, SHAPES.invalidate))
      return refuse(options, SHAPES.invalidate);
    const staleTtl = options?.staleTtl ?? 30;
    return this.#send.keyed(Op.Invalidate, this.#handlers.delete, key, options, staleTtl) as Promise<boolean>;
  }

  // ── server commands ─────────────────────────────────────────────────────────

  /** `stats [group]` of every server that is up: `{ "host:port": { name: value } }`. */
  stats(group = "", options?: CallOptions): Promise<Record<string, Record<string, string>>> {
    return this.#servers.stats(group, options);
  }

  /** Version of every server that is up: `{ "host:port": "1.6.18" }`. */
  version(options?: CallOptions): Promise<Record<string, string>> {
    return this.#servers.version(options);
  }

  /** Invalidates every item on every server (`flush_all`), now or after `delay` seconds. Rejects if one cannot be reached. */
  async flush(options?: FlushOptions): Promise<void> {
    this.#local?.cache.clear();
    await this.#servers.flush(options);
  }

  /** A no-op round trip (`mn`) to every server: resolves when each has answered; rejects if one cannot be reached. */
  ping(options?: CallOptions): Promise<void> {
    return this.#servers.ping(options);
  }

  // ── topology ────────────────────────────────────────────────────────────────

  /**
   * Replaces the server list (the same forms as the `servers` option) and resolves once the ring
   * has changed: only the keys ketama moves change owner; requests under way finish where they were
   * sent; removed servers close once they have. A server that was on the list before is flushed
   * before it serves again. An invalid entry rejects with `InvalidArgumentError` and the old list
   * stays. Not with `discovery` (the endpoint owns the list).
   */
  setServers(servers: ServerSpec[] | string): Promise<TopologyChange> {
    return this.#topology.setServers(servers);
  }

  /** Adds one entry to the server list (see {@link Client.setServers}). */
  addServer(server: ServerSpec): Promise<TopologyChange> {
    return this.#topology.addServer(server);
  }

  /** Removes one entry, as written or as its `host:port` (see {@link Client.setServers}). */
  removeServer(server: ServerSpec): Promise<TopologyChange> {
    return this.#topology.removeServer(server);
  }

  /** A snapshot of each server's state (and of the local cache, when there is one). */
  health(): Health {
    return healthOf(this.#membership, this.#cluster, this.#local?.cache ?? null, this.#topology.counts);
  }

  /**
   * Stops taking requests (they reject with `ClientClosedError`), waits for the ones under way to
   * finish or reach their deadline, then closes every socket. Leaves no timer or socket behind.
   */
  async close(): Promise<void> {
    this.#build.closed = true;
    this.#topology.close();
    this.#cluster.close();
    await this.#membership.close();
  }
}
