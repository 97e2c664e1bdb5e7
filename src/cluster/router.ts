/**
 * Key → server. Owns the servers and the ketama ring, and rebuilds the ring when membership changes:
 * with `eject`, a server that goes down leaves the ring (its keys move to their next owner) and comes
 * back when a probe succeeds; without it, the ring never changes and a down owner fails its keys fast.
 *
 * The ring is always rebuilt from the configured list (in configuration order) filtered to the live
 * servers, so placement stays exactly libmemcached's for that set.
 */
import type { ConnectionOptions } from "../connection/connection.js";
import { AuthError, ConnectionError, ServerUnavailableError, TimeoutError, TLSError } from "../errors.js";
import type { PoolOptions } from "../pool/server-pool.js";
import { type FailurePolicy, Op, QUEUED, type Request, SETTLED } from "../protocol/request.js";
import type { ServerAddress } from "../util/servers.js";
import { HashRing } from "./ketama.js";
import { type HealthOptions, Server } from "./server.js";
import { type StaleKey, WriteFailures } from "./write-failures.js";

/** Router settings (resolved by the client). */
export interface RouterOptions {
  eject: boolean;
  /** Copies of each key: writes go to `replicas` servers, reads fail over down that list. */
  replicas: number;
  /** Retries of idempotent commands after a connection failure, with backoff, inside the deadline. */
  retries: RetryOptions;
  /** Most keys remembered per server for write-failure tracking. */
  maxWriteFailures: number;
  /** Gutter servers: while a key's owner is down, its traffic goes there instead of to the next owner. */
  gutter?: ServerAddress[] | undefined;
}

/** Retry settings. */
export interface RetryOptions {
  attempts: number;
  baseDelay: number;
  maxDelay: number;
}

/** Health transitions the client turns into events, and the clean-up of a returning server. */
export interface RouterEvents {
  serverDown(label: string, error: Error): void;
  serverUp(label: string): void;
  /** A write for `key` (wire token) did not reach `server`: it is remembered. */
  writeFailure(server: string, key: string, error: unknown): void;
  /** Deletes `keys` on `server` (which answers again) before it takes traffic; rejects to keep it down. */
  invalidate(server: Server, keys: StaleKey[]): Promise<void>;
}

/** Writes: a server that misses one may later serve an older value. */
function isWrite(op: Op): boolean {
  return (
    op === Op.Store ||
    op === Op.Delete ||
    op === Op.Arith ||
    op === Op.Invalidate ||
    op === Op.StoreMany ||
    op === Op.DeleteMany
  );
}

/** Reads: a miss is an answer, so they may be served by any replica. */
function isRead(op: Op): boolean {
  return op === Op.Get || op === Op.Gets || op === Op.GetAndTouch || op === Op.GetMany || op === Op.Fetch;
}

export class Router implements FailurePolicy {
  /** Every configured server, in configuration order. */
  readonly servers: readonly Server[];
  readonly #eject: boolean;
  readonly #replicas: number;
  readonly #retry: RetryOptions;
  #closed = false;
  /** Requests sent again after a connection failure (backoff retries). */
  retried = 0;
  /** Reads moved to another replica. */
  failedOver = 0;
  /** The gutter pool (its own ring and health), or null. */
  readonly #gutter: Router | null;
  readonly #events: RouterEvents;
  /** The only server, when exactly one is configured (no hashing then). */
  readonly #single: Server | null;
  #ring: HashRing;
  /** Servers on the ring, in the ring's order (`#ring.ownerIndex` indexes it). */
  #onRing: Server[] = [];
  /** Every configured server: where each key lives when all are up (its "home"). */
  readonly #full: HashRing;
  /** Every server, gutter ones included (for health reports). */
  get allServers(): readonly Server[] {
    return this.#gutter === null ? this.servers : [...this.servers, ...this.#gutter.servers];
  }
  readonly #byLabel: Map<string, Server>;
  /** Servers not up. */
  #away = 0;
  readonly #stale: WriteFailures;

  constructor(
    addresses: ServerAddress[],
    connection: Omit<ConnectionOptions, "host" | "port">,
    pool: PoolOptions,
    health: HealthOptions,
    options: RouterOptions,
    events: RouterEvents,
  ) {
    // With a gutter pool, keys never rehash onto healthy servers: a down owner's keys go to the gutter.
    this.#eject = options.eject && options.gutter === undefined;
    this.#replicas = Math.min(options.replicas, addresses.length);
    this.#retry = options.retries;
    this.#events = events;
    this.#stale = new WriteFailures(options.maxWriteFailures);
    const handlers = {
      onDown: (s: Server, err: Error) => {
        this.#countAway();
        if (this.#eject) this.#rebuild();
        this.#events.serverDown(s.label, err);
      },
      // Before a returning server takes traffic, delete on it every key it may hold an old value of.
      beforeUp: async (s: Server) => {
        const keys = this.#stale.take(s.label);
        if (keys.length === 0) return;
        try {
          await this.#events.invalidate(s, keys);
        } catch (err) {
          for (const k of keys) this.#stale.record(s.label, k.token, k.base64);
          throw err;
        }
      },
      onUp: (s: Server) => {
        this.#countAway();
        if (this.#eject) this.#rebuild();
        this.#events.serverUp(s.label);
      },
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
    this.#single = this.servers.length === 1 ? this.servers[0]! : null;
    this.#gutter =
      options.gutter === undefined || options.gutter.length === 0
        ? null
        : new Router(
            options.gutter,
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

  /**
   * The server that owns `hashKey`: the configured one when there is only one (whatever its state),
   * else the ring's owner (only live servers are on it with `eject`). `undefined` when the ring is empty.
   */
  route(hashKey: string | Buffer): Server | undefined {
    const owner =
      this.#single !== null
        ? this.#single
        : this.#onRing.length === 0
          ? undefined
          : this.#onRing[this.#ring.ownerIndex(hashKey)];
    if (this.#gutter === null || owner === undefined || owner.state === "up") return owner;
    return this.#gutter.route(hashKey) ?? owner;
  }

  /** Keys remembered as possibly stale on `server` (write-failure tracking). */
  staleKeys(server: string): number {
    return this.#stale.count(server);
  }

  /**
   * Called for every write while some server is away: the key's home servers (where it lives when all
   * are up) that are not up will hold an older value when they return, so the key is remembered for them.
   */
  noteWrite(req: Request): void {
    if (this.#away === 0 || !isWrite(req.op)) return;
    const batch = req.batch;
    if (batch === null) this.#noteHomes(req.hashKey, req.key, req.base64);
    else {
      // Batch keys route by their own key, or all by the caller's hashKey when one was given.
      for (let i = 0; i < batch.keys.length; i++) {
        const home = req.hashKey !== "" ? req.hashKey : (batch.userKeys[i] as string | Buffer);
        this.#noteHomes(home, batch.keys[i]!, batch.keysBase64?.[i] === true);
      }
    }
  }

  #noteHomes(hashKey: string | Buffer, token: string, base64: boolean): void {
    for (const label of this.#full.serversFor(hashKey, this.#replicas)) {
      const home = this.#byLabel.get(label)!;
      if (home.state !== "up") this.#record(home.label, token, base64, home.lastError);
    }
  }

  #record(server: string, token: string, base64: boolean, error: unknown): void {
    this.#stale.record(server, token, base64);
    this.#events.writeFailure(server, token, error);
  }

  /** Copies of each key (capped at the number of servers). */
  get replicas(): number {
    return this.#replicas;
  }

  /**
   * The server a read of `hashKey` goes to: its owner when up, else the first replica that is up
   * (`undefined` when none is). With one copy per key, the owner whatever its state.
   */
  routeRead(hashKey: string | Buffer): Server | undefined {
    const owner = this.route(hashKey);
    if (this.#replicas === 1 || (owner !== undefined && owner.state === "up")) return owner;
    for (const s of this.replicasOf(hashKey)) if (s.state === "up") return s;
    return owner;
  }

  /** The `replicas` servers that hold `hashKey`, owner first (replica order: clockwise on the ring). */
  replicasOf(hashKey: string | Buffer): Server[] {
    if (this.#single !== null) return [this.#single];
    if (this.#onRing.length === 0) return [];
    return this.#ring.serversFor(hashKey, this.#replicas).map((l) => this.#byLabel.get(l)!);
  }

  /**
   * Failure policy of every request: a read that failed on a connection error moves at once to the
   * next replica; an idempotent command (`req.retries` > 0) is sent again after a backoff. Both only
   * while the caller's deadline leaves time, and the request keeps its promise and deadline.
   */
  onFail(req: Request, error: unknown): boolean {
    if (this.#closed) return false;
    // A write that failed or timed out may not have reached this server, which may now hold an older value.
    if (
      isWrite(req.op) &&
      (error instanceof ConnectionError || error instanceof TimeoutError) &&
      req.server instanceof Server
    ) {
      const label = req.server.label;
      const batch = req.batch;
      if (batch === null) this.#record(label, req.key, req.base64, error);
      else
        for (let i = 0; i < batch.keys.length; i++)
          this.#record(label, batch.keys[i]!, batch.keysBase64?.[i] === true, error);
    }
    const now = performance.now();
    if (error instanceof TimeoutError) return this.#timeoutFailover(req, now);
    if (!(error instanceof ConnectionError)) return false;
    if (req.finalDeadline !== 0 && now >= req.finalDeadline) return false;
    // The first attempt's share of the deadline no longer applies: the rest of the time is this one's.
    req.deadline = req.finalDeadline;
    if (this.#replicas > 1 && isRead(req.op) && req.batch === null && req.replica + 1 < this.#replicas) {
      const next = this.#nextReplica(req);
      if (next !== undefined) {
        req.replica++;
        this.failedOver++;
        this.#resend(req, next);
        return true;
      }
    }
    // Refused credentials or certificates: the same server would refuse a retry too.
    if (req.retries <= 0 || error instanceof AuthError || error instanceof TLSError) return false;
    const used = this.#retry.attempts - req.retries;
    req.retries--;
    const delay =
      Math.min(this.#retry.maxDelay, this.#retry.baseDelay * 2 ** used) * (0.5 + Math.random() * 0.5);
    if (req.deadline !== 0 && now + delay >= req.deadline) return false;
    req.state = QUEUED;
    this.retried++;
    setTimeout(() => this.#retryNow(req, error), delay);
    return true;
  }

  /**
   * A read that used up its share of the deadline on one replica (a hung server) goes on, as a clone,
   * on the next replica that is up with the rest of the caller's time.
   */
  #timeoutFailover(req: Request, now: number): boolean {
    if (req.split === 1 || !isRead(req.op) || now >= req.finalDeadline || req.replica + 1 >= this.#replicas) {
      return false;
    }
    const server = this.#nextReplica(req);
    if (server === undefined) return false;
    const next = req.clone();
    next.replica = req.replica + 1;
    next.deadline = req.finalDeadline;
    next.finalDeadline = req.finalDeadline;
    next.server = server;
    req.handOver(next);
    this.failedOver++;
    server.send(next);
    return true;
  }

  /**
   * The replica to try after the one `req` failed on: the first server of the key's *current* replica
   * list that is up and is not that one (the list may have changed since: ejection moves keys to the
   * replica that holds them).
   */
  #nextReplica(req: Request): Server | undefined {
    for (const s of this.replicasOf(req.hashKey)) if (s !== req.server && s.state === "up") return s;
    return undefined;
  }

  #retryNow(req: Request, error: unknown): void {
    if (req.state === SETTLED) return; // aborted meanwhile
    const server = isRead(req.op) ? this.routeRead(req.hashKey) : this.route(req.hashKey);
    if (server !== undefined && server.state === "up" && !this.#closed) this.#resend(req, server);
    else {
      req.retries = 0;
      req.fail(
        server === undefined
          ? error
          : new ServerUnavailableError(`${server.label} is down`, { server: server.label, cause: error }),
      );
    }
  }

  #resend(req: Request, server: Server): void {
    req.state = QUEUED;
    req.server = server;
    if (req.batch !== null) {
      req.batch.next = 0;
      req.batch.found = 0;
      req.batch.error = null;
    }
    server.send(req);
  }

  /** The `replica`-th server holding `hashKey` (0 = its owner; for reads, the first one up). */
  replicaOf(hashKey: string | Buffer, replica: number): Server | undefined {
    if (replica === 0) return this.#replicas === 1 ? this.route(hashKey) : this.routeRead(hashKey);
    return this.replicasOf(hashKey)[replica];
  }

  /**
   * Where a batch read of `hashKey` goes again after failing on the servers in `tried`: the first
   * server of the key's *current* replica list that is up and not tried yet (as `#nextReplica` does
   * for single reads; the list may have changed since the first attempt). `undefined` when none is.
   */
  nextReadTarget(hashKey: string | Buffer, tried: readonly Server[]): Server | undefined {
    for (const s of this.replicasOf(hashKey)) if (s.state === "up" && !tried.includes(s)) return s;
    return undefined;
  }

  /**
   * The server a batch request for `hashKey` goes to: its `replica`-th server, or, with `tried` (a batch
   * read failing over), {@link Router.nextReadTarget}. `undefined`: no server can take it.
   */
  batchTarget(hashKey: string | Buffer, replica: number, tried: readonly Server[]): Server | undefined {
    return tried.length > 0 ? this.nextReadTarget(hashKey, tried) : this.replicaOf(hashKey, replica);
  }

  /** Groups key indices by their {@link Router.batchTarget}. */
  group(
    hashKeys: readonly (string | Buffer)[],
    replica = 0,
    tried: readonly Server[] = [],
  ): Map<Server | undefined, number[]> {
    const groups = new Map<Server | undefined, number[]>();
    for (let i = 0; i < hashKeys.length; i++) {
      const s = this.batchTarget(hashKeys[i]!, replica, tried);
      const g = groups.get(s);
      if (g === undefined) groups.set(s, [i]);
      else g.push(i);
    }
    return groups;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#gutter?.close();
    await Promise.all(this.servers.map((s) => s.close()));
  }

  #countAway(): void {
    this.#away = this.servers.filter((s) => s.state !== "up").length;
  }

  #rebuild(): void {
    const live = this.servers.filter((s) => !this.#eject || s.state === "up");
    this.#ring = new HashRing(live.map((s) => s.address));
    this.#onRing = live;
  }
}
