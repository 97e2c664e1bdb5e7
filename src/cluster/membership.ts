/**
 * Which servers exist and which key lives where. Owns the server list, the ketama ring of the list
 * (the "home ring", exactly libmemcached's) and the gutter pool. With `eject`, a key whose home is
 * down goes to the next live server clockwise on the home ring — its next replica — and every other
 * key stays home: a server going down or coming back moves only its own keys, whatever the weights
 * (a ring rebuilt from the live servers would move keys between live servers too, and their homes
 * would keep older copies). Without `eject`, a down home's keys fail fast. `setServers` replaces the
 * list itself. A routing table only: which copies may be stale, and the repairs a return or a change
 * of the list needs, are the freshness owner's (`freshness/`), which it calls through
 * {@link MembershipHooks}.
 */
import type { ConnectionOptions } from "../connection/connection-options.js";
import type { Op } from "../protocol/frame.js";
import type { PoolOptions } from "../pool/server-pool.js";
import { distinctServers, labelOf, type ServerAddress, type ZoneOf } from "../util/servers.js";
import { buildList, closeInSteps } from "./list-build.js";
import { ClientClosedError } from "../errors.js";
import { HashRing, ketamaHash } from "./ketama.js";
import { readsAnyCopy } from "./policy.js";
import { type HealthOptions, Server, type ServerEvents } from "./server.js";

/** What a change of the server list did: labels of the servers added and removed. */
export interface TopologyChange {
  /** Labels of the servers that joined the list. */
  added: string[];
  /** Labels of the servers that left the list. */
  removed: string[];
  /** Servers that stayed with another weight or zone: their keys move (present only when there are some). */
  reweighted?: string[];
}

/** A routing key: the caller's key or `hashKey`. */
export type RoutingKey = string | Buffer;

/** Membership settings (resolved by the client). */
export interface MembershipOptions {
  eject: boolean;
  /** Copies of each key: writes go to `replicas` servers, reads fail over down that list. */
  replicas: number;
  /** Gutter servers: while a key's owner is down, its traffic goes there instead of to the next owner. */
  gutter?: ServerAddress[] | undefined;
  /** The client's zone: reads that may go to any replica go to the one in it first. */
  zone?: string | null | undefined;
  /** The zone of a server whose entry gave none. */
  zoneOf?: ZoneOf | null | undefined;
}

/** No server tried yet (a read's first attempt). */
export const NOT_TRIED: readonly Server[] = [];

/** Health transitions. */
export interface MembershipEvents {
  serverDown(label: string, error: Error): void;
  serverUp(label: string): void;
}

/** A change of the server list as membership plans it; the freshness owner runs it. */
export interface ListChange {
  /** Why (a DNS answer, discovery, `setServers`). */
  reason: string;
  /** The new list, and its servers that are new, leaving, staying. */
  addresses: ServerAddress[];
  added: Server[];
  removed: Server[];
  kept: Server[];
  /** The new list's home ring, and copies per key under it. */
  after: HashRing;
  replicas: number;
  /** Makes the new list current in one synchronous step; false when the client closed meanwhile. */
  commit(): boolean;
}

/** What membership asks of the freshness owner (see `freshness/freshness.ts`). */
export interface MembershipHooks {
  /** A down server answers probes: it is repaired, then put back ({@link Membership.up}); rejects to keep it down. */
  rejoin(s: Server): Promise<void>;
  /** Runs `change`: the repairs it needs before and after, and its `commit` between them. */
  changeList(change: ListChange): Promise<void>;
}

/** Without a freshness owner (tests of routing alone): returns and changes need no repair. */
const NO_REPAIRS = (m: Membership): MembershipHooks => ({
  rejoin: async (s) => m.up(s),
  changeList: async (c) => {
    c.commit();
  },
});

export class Membership {
  /** Copies of each key (capped at the number of servers). */
  replicas = 1;
  /** Told when a server may have restarted empty: it came back, or lost a connection on an error. */
  mayBeEmpty: ((s: Server) => void) | null = null;
  /** Why the list is empty, while it is (what its sources last said). */
  whyEmpty = "no server was given";
  readonly #eject: boolean;
  readonly #replicasWanted: number;
  readonly #zone: string | null;
  readonly #zoneOf: ZoneOf | null;
  /** The gutter pool (its own ring and health), or null. */
  readonly #gutter: Membership | null;
  readonly #events: MembershipEvents;
  readonly #makeServer: (address: ServerAddress) => Server;
  /** Every configured server, in configuration order. */
  #servers: Server[] = [];
  /** The only server, when exactly one is configured (no hashing then). */
  #single: Server | null = null;
  /** Every configured server: where each key lives when all are up (its "home"). */
  #full = new HashRing();
  /** With `eject`: the home ring less the servers not up (`#full` while all are up), or null until made. */
  #live: HashRing | null = null;
  #byLabel = new Map<string, Server>();
  /** Servers not up. */
  #away = 0;
  #hooks: MembershipHooks = NO_REPAIRS(this);
  /** The change of the server list under way (changes run one at a time). */
  #changing: Promise<unknown> = Promise.resolve();
  /** The servers earlier changes left, closing (a few at a time): `close()` waits for them too. */
  #retiring: Promise<void> = Promise.resolve();
  #closed = false;

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
    this.#replicasWanted = options.replicas;
    this.#zone = options.zone ?? null;
    this.#events = events;
    const handlers: ServerEvents = {
      onDown: (s: Server, err: Error) => {
        this.#membershipChanged();
        this.#events.serverDown(s.label, err);
      },
      rejoin: (s: Server) => this.#hooks.rejoin(s),
      connectionLost: (s: Server) => this.mayBeEmpty?.(s),
    };
    this.#makeServer = (a) => new Server(a, connection, pool, health, handlers);
    this.#zoneOf = options.zoneOf ?? null;
    this.#install(distinctServers(addresses, this.#zoneOf).map(this.#makeServer));
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
  }

  /** Every configured server, in configuration order. */
  get servers(): readonly Server[] {
    return this.#servers;
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
    if (this.#single !== null) return this.#gutterFor(key, this.#single);
    if (this.#servers.length === 0) return undefined;
    const hash = ketamaHash(key);
    const home = this.#servers[this.#full.ownerIndexOfHash(hash)]!;
    if (home.state === "up" || !this.#eject) return this.#gutterFor(key, home);
    if (this.#fewAway()) return this.#servers[this.#full.ownerIndexOfHashSkipping(hash, this.#isAway)];
    return this.#servers[this.liveRing().ownerIndexOfHash(hash)];
  }

  readonly #isAway = (i: number) => this.#servers[i]!.state !== "up";

  /** Few away: lookups step over their points on the home ring, building no ring per server marked down. */
  #fewAway(): boolean {
    return this.#live === null && this.#away * 2 < this.#servers.length;
  }

  /** `owner`, or its gutter server while it is down (with a gutter pool). */
  #gutterFor(key: RoutingKey, owner: Server): Server {
    if (this.#gutter === null || owner.state === "up") return owner;
    return this.#gutter.owner(key) ?? owner;
  }

  /** The `replicas` servers that hold `key`, owner first (replica order: clockwise on the ring). */
  replicasOf(key: RoutingKey): Server[] {
    if (this.#single !== null) return [this.#single];
    if (this.#servers.length === 0) return [];
    let labels: string[];
    if (!this.#eject || this.#away === 0) labels = this.#full.serversFor(key, this.replicas);
    else if (this.#fewAway() && !this.#full.zoned)
      labels = this.#full.serversForHash(ketamaHash(key), this.replicas, this.#isAway);
    else labels = this.liveRing().serversFor(key, this.replicas);
    return labels.map((l) => this.#byLabel.get(l)!);
  }

  /** The home ring less the servers not up (see `#live`): built once, when most are away. */
  liveRing(): HashRing {
    this.#live ??= this.#full.without((i) => this.#servers[i]!.state !== "up");
    return this.#live;
  }

  /** Labels of the servers not up, with `eject` (what the live ring skips). */
  skipped(): string[] {
    return this.#servers.filter((s) => s.state !== "up").map((s) => s.label);
  }

  /**
   * Where a read of `key` goes: with one copy per key, its owner whatever its state; else the first
   * server of its replica list that is up and not in `tried` — `undefined` when none is (and
   * `tried` is empty: the owner, which fails fast).
   */
  readTarget(key: RoutingKey, tried: readonly Server[] = NOT_TRIED, op?: Op): Server | undefined {
    if (
      this.#zone !== null &&
      tried.length === 0 &&
      op !== undefined &&
      this.replicas > 1 &&
      readsAnyCopy(op)
    ) {
      for (const s of this.replicasOf(key)) if (s.state === "up" && s.address.zone === this.#zone) return s;
    }
    if (tried.length === 0) {
      const owner = this.owner(key);
      if (this.replicas === 1 || owner?.state === "up") return owner;
    }
    for (const s of this.replicasOf(key)) if (s.state === "up" && !tried.includes(s)) return s;
    return tried.length === 0 ? this.owner(key) : undefined;
  }

  /** Hands returns and list changes to the freshness owner (once, as the client is assembled). */
  attach(hooks: MembershipHooks): void {
    this.#hooks = hooks;
    this.#gutter?.attach(hooks);
  }

  /** Servers not up. */
  get away(): number {
    return this.#away;
  }

  /** Whether down servers leave the ring. */
  get ejects(): boolean {
    return this.#eject;
  }

  /** The server labelled `label`, if it is on the list. */
  server(label: string): Server | undefined {
    return this.#byLabel.get(label);
  }

  /** Labels of the `replicas` servers that hold `key` when all are up (its homes). */
  homesOf(key: RoutingKey): string[] {
    return this.#full.serversFor(key, this.replicas);
  }

  /** {@link Membership.homesOf} of the key whose ketama hash is `hash`. */
  homesOfHash(hash: number): string[] {
    return this.#full.serversForHash(hash, this.replicas);
  }

  /**
   * Puts a repaired server back: it takes traffic, and lookups route to it again; `before` runs in the
   * same step, before it is announced (a write from a `serverUp` listener comes after it).
   */
  up(s: Server, before?: () => void): void {
    if (this.#byLabel.get(s.label) !== s && this.#gutter?.server(s.label) === s) {
      this.#gutter.up(s, before); // a gutter server: the gutter's own table
      return;
    }
    const wasAway = s.state !== "up" && this.#byLabel.get(s.label) === s;
    s.markUp();
    if (s.state !== "up") return; // closed meanwhile
    this.#membershipChanged();
    before?.();
    if (wasAway) this.mayBeEmpty?.(s);
    this.#events.serverUp(s.label);
  }

  /**
   * Replaces the server list with `addresses` (changes run one at a time). Servers that stay keep
   * their connections; new ones take traffic at once — except one that was on the list before,
   * which may hold values older than the writes made since it left: it is flushed first (and while
   * that fails, it is down and probed like any down server). Before the ring changes, the keys that
   * servers hold from earlier lists and that the new ring makes theirs again are deleted on them
   * (see `repairs.ts`); then the list and ring change in one synchronous step. Requests under way
   * finish where they were sent; removed servers close once they have.
   */
  setServers(addresses: ServerAddress[], reason: string): Promise<TopologyChange> {
    const run = this.#changing.then(() => this.#change(distinctServers(addresses, this.#zoneOf), reason));
    this.#changing = run.catch(() => undefined);
    return run;
  }

  async #change(addresses: ServerAddress[], reason: string): Promise<TopologyChange> {
    if (this.#closed) throw new ClientClosedError("the client is closed");
    // By label, once: a list of a thousand servers must not be searched a thousand times.
    const next = new Map(addresses.map((a) => [labelOf(a), a]));
    const removed = this.#servers.filter((s) => !next.has(s.label));
    const kept = this.#servers.filter((s) => next.has(s.label));
    const joining = addresses.filter((a) => !this.#byLabel.has(labelOf(a)));
    // Another weight or zone: the server stays, its keys' placement changes.
    const reweighted = kept.filter((s) => {
      const a = next.get(s.label)!;
      return a.weight !== s.address.weight || (a.zone ?? "") !== (s.address.zone ?? "");
    });
    if (joining.length === 0 && removed.length === 0 && reweighted.length === 0)
      return { added: [], removed: [] };
    // The change reads the live ring when servers are away (see `changeList`): made a turn before,
    // and kept unless a server goes down or comes back meanwhile.
    const live = () => this.#eject && this.#away > 0 && this.liveRing();
    const built = await buildList(joining, addresses, this.#makeServer, () => this.#closed, live);
    if (built === null) throw new ClientClosedError("the client closed while its server list changed");
    const { added, ring: after } = built;
    const addedByLabel = new Map(added.map((s) => [s.label, s]));
    const servers = [...next.keys()].map((label) => this.#byLabel.get(label) ?? addedByLabel.get(label)!);
    let committed = false;
    await this.#hooks.changeList({
      reason,
      addresses,
      added,
      removed,
      kept,
      after,
      replicas: Math.min(this.#replicasWanted, servers.length),
      commit: () => {
        if (this.#closed) return false;
        for (const s of reweighted) s.address = next.get(s.label)!;
        this.#install(servers, after);
        committed = true;
        return true;
      },
    });
    if (!committed) {
      await Promise.all(added.map((s) => s.close()));
      throw new ClientClosedError("the client closed while its server list changed");
    }
    const retiring = closeInSteps(removed, () => this.#closed);
    this.#retiring = Promise.all([this.#retiring, retiring]).then(() => undefined);
    const change: TopologyChange = { added: added.map((s) => s.label), removed: removed.map((s) => s.label) };
    if (reweighted.length > 0) change.reweighted = reweighted.map((s) => s.label);
    return change;
  }

  /** Stops probing and closes every server after what is under way. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#changing; // a change under way sees the close and closes what it added
    await this.#gutter?.close();
    await Promise.all([...this.#servers.map((s) => s.close()), this.#retiring]);
  }

  /** The list's ring: where each key lives when every server is up (libmemcached's). */
  get homeRing(): HashRing {
    return this.#full;
  }

  /** Addresses of the list, in list order (the home ring's). */
  addresses(): ServerAddress[] {
    return this.#servers.map((s) => s.address);
  }

  /**
   * A server went down or came back: with ejection, the live ring is made again on first use (one
   * pass over the home ring's points, no rebuild).
   */
  #membershipChanged(): void {
    let away = 0;
    for (const s of this.#servers) if (s.state !== "up") away++;
    this.#away = away;
    this.#live = away === 0 ? this.#full : null;
  }

  /** Makes `servers` (whose ring is `full`) the list, in one synchronous step. */
  #install(servers: Server[], full: HashRing = HashRing.of(servers.map((s) => s.address))): void {
    this.#servers = servers;
    this.#single = servers.length === 1 ? servers[0]! : null;
    this.replicas = Math.min(this.#replicasWanted, Math.max(1, servers.length));
    this.#byLabel = new Map(servers.map((s) => [s.label, s]));
    this.#full = full;
    this.#membershipChanged();
  }
}
