/**
 * Which servers exist and which key lives where. Owns the servers, the ketama ring and the gutter
 * pool, and rebuilds the ring when membership changes: with `eject`, a server that goes down leaves
 * the ring (its keys move to their next owner) and comes back when a probe succeeds; without it,
 * the ring never changes and a down owner's keys fail fast.
 *
 * The ring is always rebuilt from the configured list (in configuration order) filtered to the live
 * servers, so placement stays exactly libmemcached's for that set.
 *
 * Write-failure tracking lives here too: a key written while one of its home servers is away, or
 * whose write failed on a server, is remembered for that server and deleted there (by the clean-up
 * the cluster passes in) before the server takes traffic again; a server that missed more writes
 * than are remembered is flushed instead.
 */
import type { ConnectionOptions } from "../connection/connection.js";
import type { Frame } from "../protocol/frame.js";
import type { PoolOptions } from "../pool/server-pool.js";
import type { ServerAddress } from "../util/servers.js";
import { HashRing } from "./ketama.js";
import { type HealthOptions, Server } from "./server.js";
import { type StaleKey, WriteFailures } from "./write-failures.js";

/** A routing key: the caller's key or `hashKey`. */
export type RoutingKey = string | Buffer;

/** Membership settings (resolved by the client). */
export interface MembershipOptions {
  eject: boolean;
  /** Copies of each key: writes go to `replicas` servers, reads fail over down that list. */
  replicas: number;
  /** Most keys remembered per server for write-failure tracking. */
  maxWriteFailures: number;
  /** Gutter servers: while a key's owner is down, its traffic goes there instead of to the next owner. */
  gutter?: ServerAddress[] | undefined;
}

/** Health transitions, and the clean-up of a returning server. */
export interface MembershipEvents {
  serverDown(label: string, error: Error): void;
  serverUp(label: string): void;
  /** A write for `key` (wire token) did not reach `server`: it is remembered. */
  writeFailure(server: string, key: string, error: unknown): void;
  /** Deletes `keys` on `server` (which answers again) before it takes traffic; rejects to keep it down. */
  cleanUp(server: Server, keys: StaleKey[]): Promise<void>;
  /**
   * Flushes `server` (which answers again) before it takes traffic, because more writes missed it
   * than are remembered per server; rejects to keep it down.
   */
  flush(server: Server, reason: string): Promise<void>;
}

/**
 * Repair rounds of a returning server before it is flushed instead (writes to its keys arriving as
 * fast as they are repaired).
 */
const MAX_REPAIR_ROUNDS = 8;

export class Membership {
  /** Every configured server, in configuration order. */
  readonly servers: readonly Server[];
  /** Copies of each key (capped at the number of servers). */
  readonly replicas: number;
  /** Returning servers flushed because their write-failure list overflowed. */
  flushes = 0;
  readonly #eject: boolean;
  /** The gutter pool (its own ring and health), or null. */
  readonly #gutter: Membership | null;
  readonly #events: MembershipEvents;
  /** The only server, when exactly one is configured (no hashing then). */
  readonly #single: Server | null;
  #ring: HashRing;
  /** Servers on the ring, in the ring's order (`#ring.ownerIndex` indexes it). */
  #onRing: Server[] = [];
  /** Every configured server: where each key lives when all are up (its "home"). */
  readonly #full: HashRing;
  readonly #byLabel: Map<string, Server>;
  /** Servers not up. */
  #away = 0;
  readonly #stale: WriteFailures;

  constructor(
    addresses: ServerAddress[],
    connection: Omit<ConnectionOptions, "host" | "port">,
    pool: PoolOptions,
    health: HealthOptions,
    options: MembershipOptions,
    events: MembershipEvents,
  ) {
    // With a gutter pool, keys never rehash onto healthy servers: a down owner's keys go to the gutter.
    this.#eject = options.eject && options.gutter === undefined;
    this.replicas = Math.min(options.replicas, addresses.length);
    this.#events = events;
    this.#stale = new WriteFailures(options.maxWriteFailures);
    const handlers = {
      onDown: (s: Server, err: Error) => {
        this.#membershipChanged();
        this.#events.serverDown(s.label, err);
      },
      rejoin: (s: Server) => this.#rejoin(s),
    };
    const servers: Server[] = [];
    const labels = new Set<string>();
    for (const a of addresses) {
      const s = new Server(a, connection, pool, health, handlers);
      if (labels.has(s.label)) continue; // the same server listed twice is one server
      labels.add(s.label);
      servers.push(s);
    }
    this.servers = servers;
    this.#single = servers.length === 1 ? servers[0]! : null;
    const gutter = options.gutter;
    this.#gutter =
      gutter === undefined || gutter.length === 0
        ? null
        : new Membership(
            gutter,
            connection,
            pool,
            health,
            { ...options, eject: true, replicas: 1, gutter: undefined },
            events,
          );
    if (this.#gutter !== null) for (const g of this.#gutter.servers) g.gutter = true;
    this.#byLabel = new Map(servers.map((s) => [s.label, s]));
    this.#full = new HashRing(servers.map((s) => s.address));
    this.#ring = new HashRing();
    this.#rebuild();
  }

  /** Every server, gutter ones included (for health reports). */
  get allServers(): readonly Server[] {
    return this.#gutter === null ? this.servers : [...this.servers, ...this.#gutter.servers];
  }

  /**
   * The server that owns `key`: the configured one when there is only one (whatever its state),
   * else the ring's owner (only live servers are on it with `eject`), or its gutter server while
   * the owner is down. `undefined` when the ring is empty.
   */
  owner(key: RoutingKey): Server | undefined {
    const owner =
      this.#single !== null
        ? this.#single
        : this.#onRing.length === 0
          ? undefined
          : this.#onRing[this.#ring.ownerIndex(key)];
    if (this.#gutter === null || owner === undefined || owner.state === "up") return owner;
    return this.#gutter.owner(key) ?? owner;
  }

  /** The `replicas` servers that hold `key`, owner first (replica order: clockwise on the ring). */
  replicasOf(key: RoutingKey): Server[] {
    if (this.#single !== null) return [this.#single];
    if (this.#onRing.length === 0) return [];
    return this.#ring.serversFor(key, this.replicas).map((l) => this.#byLabel.get(l)!);
  }

  /**
   * Where a read of `key` goes: with one copy per key, its owner whatever its state; else the first
   * server of its replica list that is up and not in `tried` — `undefined` when none is (and
   * `tried` is empty: the owner, which fails fast).
   */
  readTarget(key: RoutingKey, tried: readonly Server[] = []): Server | undefined {
    if (tried.length === 0) {
      const owner = this.owner(key);
      if (this.replicas === 1 || owner?.state === "up") return owner;
    }
    for (const s of this.replicasOf(key)) if (s.state === "up" && !tried.includes(s)) return s;
    return tried.length === 0 ? this.owner(key) : undefined;
  }

  /**
   * Called for every write while some server is away: the key's home servers (where it lives when
   * all are up) that are not up will hold an older value when they return, so the key is
   * remembered for them. `keyOf(i)` is the routing key of the batch's i-th key.
   */
  noteWrite(frame: Frame, key: RoutingKey, keyOf: ((i: number) => RoutingKey) | null): void {
    if (this.#away === 0) return;
    const batch = frame.batch;
    if (batch === null || keyOf === null) this.#noteHomes(key, frame.key, frame.base64);
    else {
      for (let i = 0; i < batch.keys.length; i++) {
        this.#noteHomes(keyOf(i), batch.keys[i]!, batch.keysBase64?.[i] === true);
      }
    }
  }

  /**
   * A write of `frame` may not have reached `server` (it failed or timed out there); `keyOf(i)` is
   * the routing key of its i-th key (of its only key, for a single-key frame).
   */
  noteFailedWrite(server: Server, frame: Frame, keyOf: (i: number) => RoutingKey, error: unknown): void {
    const batch = frame.batch;
    if (batch === null) this.#record(server.label, frame.key, frame.base64, keyOf(0), error);
    else {
      for (let i = 0; i < batch.keys.length; i++) {
        this.#record(server.label, batch.keys[i]!, batch.keysBase64?.[i] === true, keyOf(i), error);
      }
    }
  }

  /**
   * A server answers probes again. Before it takes traffic, what it missed is repaired, until
   * nothing is left: the keys written while it was away (or whose write failed on it) are deleted
   * on it — it may hold older values of them — and on the servers that held them for it meanwhile
   * (ejection moved them there; once it is back, those copies would outlive later writes); a server
   * that missed more writes than are remembered is flushed instead. Writes made during a repair are
   * remembered too, so the loop goes on until a look finds nothing, and the server goes back on the
   * ring in that same synchronous step: no write can fall between the last look and its return. If
   * writes keep coming as fast as they are repaired, the server is flushed after a few rounds: a
   * flushed server holds nothing older than the writes made meanwhile.
   */
  async #rejoin(s: Server): Promise<void> {
    for (let round = 0; ; round++) {
      if (!this.#stale.has(s.label)) return this.#up(s);
      const { keys, overflowed } = this.#stale.take(s.label);
      try {
        if (overflowed || round === MAX_REPAIR_ROUNDS) {
          // Flushed, it holds nothing older than any write made meanwhile; the copies those writes
          // left on fallback owners are deleted once it is back (their keys' owner again).
          await this.#events.flush(
            s,
            overflowed
              ? `more than ${this.#stale.max} writes missed it while it was away: which keys it may hold stale is unknown`
              : `writes to its keys kept coming as fast as ${MAX_REPAIR_ROUNDS} rounds could repair them`,
          );
          this.flushes++;
          const fallbacks = this.#fallbacks(s, [...keys, ...this.#stale.take(s.label).keys]);
          this.#up(s);
          for (const [server, list] of fallbacks) this.#events.cleanUp(server, list).catch(() => undefined);
          return;
        }
        await this.#events.cleanUp(s, keys);
        await Promise.all(
          [...this.#fallbacks(s, keys)].map(([server, list]) => this.#events.cleanUp(server, list)),
        );
      } catch (err) {
        if (overflowed) this.#stale.markOverflowed(s.label);
        else for (const k of keys) this.#stale.record(s.label, k.token, k.base64, k.route);
        throw err;
      }
    }
  }

  /** Puts a repaired server back: it takes traffic, and the ring includes it again. */
  #up(s: Server): void {
    s.markUp();
    if (s.state !== "up") return; // closed meanwhile
    this.#membershipChanged();
    this.#events.serverUp(s.label);
  }

  /**
   * Where `keys` live while `away` is out of the ring, other than their homes (the servers they live
   * on when all are up): the fallback owners that hold copies of them, by server.
   */
  #fallbacks(away: Server, keys: StaleKey[]): Map<Server, StaleKey[]> {
    const byServer = new Map<Server, StaleKey[]>();
    if (!this.#eject) return byServer;
    for (const k of keys) {
      const homes = this.#full.serversFor(k.route, this.replicas);
      for (const s of this.replicasOf(k.route)) {
        if (s === away || s.state !== "up" || homes.includes(s.label)) continue;
        const list = byServer.get(s);
        if (list === undefined) byServer.set(s, [k]);
        else list.push(k);
      }
    }
    return byServer;
  }

  /** Stops probing and closes every server after what is under way. */
  async close(): Promise<void> {
    await this.#gutter?.close();
    await Promise.all(this.servers.map((s) => s.close()));
  }

  #noteHomes(key: RoutingKey, token: string, base64: boolean): void {
    for (const label of this.#full.serversFor(key, this.replicas)) {
      const home = this.#byLabel.get(label)!;
      if (home.state !== "up") this.#record(home.label, token, base64, key, home.lastError);
    }
  }

  #record(server: string, token: string, base64: boolean, route: RoutingKey, error: unknown): void {
    this.#stale.record(server, token, base64, route);
    this.#events.writeFailure(server, token, error);
  }

  #membershipChanged(): void {
    this.#away = this.servers.filter((s) => s.state !== "up").length;
    if (this.#eject) this.#rebuild();
  }

  #rebuild(): void {
    const live = this.servers.filter((s) => !this.#eject || s.state === "up");
    this.#ring = new HashRing(live.map((s) => s.address));
    this.#onRing = live;
  }
}
