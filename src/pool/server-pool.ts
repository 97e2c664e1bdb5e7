/**
 * The connections to one server. With `min` at least one, the first is made here and kept for the
 * pool's life (it connects lazily, so a client over a thousand servers makes a thousand connection
 * objects, not also a thousand generic-pools and their pending acquires). `generic-pool` owns the
 * others' life cycle — how many exist (`min`, `max`), idle eviction (`idleTimeoutMillis`), bounded
 * waiting — and is made when one of them is first wanted. This class spreads requests over the ones
 * it holds:
 *
 *   send(req) ─▶ least-loaded held connection ─▶ pipelined on it
 *                 └─ all held ones half full and fewer than max? lease one more (in the background)
 *
 * A connection is a long-lived slot: it connects lazily, reconnects after a failure, and sends a
 * `version` handshake first on every new socket. So `create` never waits on the network (and never
 * fails, which would make generic-pool retry in a tight loop against a dead server). Connections
 * above `min` that stay idle are handed back to generic-pool, which evicts them after
 * `idleTimeoutMillis`.
 *
 * Leases are held, not taken per request: the hot path is a scan of at most `max` connections.
 */
import { isIP } from "node:net";
import { createPool, type Pool } from "generic-pool";
import { Connection } from "../connection/connection.js";
import type { ConnectionEvents, ConnectionOptions } from "../connection/connection-options.js";
import { HostPin } from "../connection/host-pin.js";
import { ClientClosedError, ConnectionError, QueueFullError } from "../errors.js";
import type { Attempt } from "../connection/attempt.js";
import { labelOf } from "../util/servers.js";
import { withoutStack } from "../util/no-stack.js";

/** Pool settings. */
export interface PoolOptions {
  /** Connections kept (and used) at all times, once the server has had traffic. Default 1. */
  min: number;
  /** Most connections. Default 2. */
  max: number;
  /** A connection above `min` unused for this long is closed, ms. Default 30,000. */
  idleTimeoutMillis: number;
}

export class ServerPool {
  /** generic-pool, for the connections after the first; null until one is first wanted. */
  #pool: Pool<Connection> | null = null;
  readonly #opts: PoolOptions;
  /**
   * Options of each connection it makes: the same for all (each says `version` first, see below),
   * with their pin for a server named by a host name (see `host-pin.ts`; a recycle makes another).
   */
  #connection: ConnectionOptions;
  readonly #events: ConnectionEvents;
  /** The connection made with the pool (or by `recycle`), never handed to generic-pool; null with `min` 0. */
  #first: Connection | null = null;
  /** Connections generic-pool made and has not destroyed: leased, idle in it, or being handed out. */
  readonly #made = new Set<Connection>();
  /** First connections a recycle replaced, until they have closed: `close()` waits for them too. */
  readonly #retiring = new Map<Connection, Promise<void>>();
  /** Connections in use: the first and the leased ones. */
  #active: Connection[] = [];
  #acquiring = 0;
  /** Attempts sent before the first lease arrived (microseconds: `create` resolves at once). */
  #waiting: Attempt[] = [];
  /** A connection is added once the least-loaded one has this many requests waiting or in flight. */
  readonly #growAt: number;
  /** Requests the server queues (over all its connections) before `QueueFullError`. */
  readonly #maxQueue: number;
  readonly #label: string;
  #idleTimer: NodeJS.Timeout | null = null;
  /** `sent` counters at the last idle check, per connection. */
  readonly #lastSent = new WeakMap<Connection, number>();
  #closed = false;

  constructor(connection: ConnectionOptions, pool: PoolOptions, events: ConnectionEvents) {
    this.#opts = pool;
    const named = connection.path === undefined && isIP(connection.host) === 0;
    this.#connection = { ...connection, handshake: true, pin: named ? new HostPin() : null };
    this.#events = events;
    this.#growAt = Math.max(1, Math.floor(connection.maxInFlight / 2));
    this.#maxQueue = connection.maxQueue;
    this.#label = labelOf(connection);
    // `min` connections now (one with `min` 0, which idles out): none connects until a request needs it.
    if (pool.min > 0) this.#active.push((this.#first = this.#newConnection()));
    this.#leaseUpTo(Math.max(1, Math.min(pool.min, pool.max)));
  }

  /** Leases connections until `n` are held or on their way. */
  #leaseUpTo(n: number): void {
    for (let i = this.#active.length + this.#acquiring; i < n; i++) this.#lease();
  }

  /** The address its connections reach, for a server named by a host name (null: none yet, or not named). */
  get pinnedAddress(): string | null {
    return this.#connection.pin?.address ?? null;
  }

  #newConnection(): Connection {
    return new Connection(this.#connection, this.#events);
  }

  /** generic-pool for the connections other than the first, made when one of them is first wanted. */
  #generic(): Pool<Connection> {
    if (this.#pool !== null) return this.#pool;
    const { min, max, idleTimeoutMillis } = this.#opts;
    const kept = this.#first === null ? 0 : 1;
    this.#pool = createPool<Connection>(
      {
        create: async () => {
          const c = this.#newConnection();
          this.#made.add(c);
          return c;
        },
        destroy: async (c) => {
          this.#made.delete(c);
          c.destroy();
        },
        validate: async (c) => !c.closed,
      },
      {
        min: Math.max(0, Math.min(min, max) - kept),
        max: Math.max(1, max - kept),
        idleTimeoutMillis,
        evictionRunIntervalMillis: Math.max(1000, Math.floor(idleTimeoutMillis / 2)),
        testOnBorrow: true,
        maxWaitingClients: max,
        autostart: false,
      },
    );
    return this.#pool;
  }

  /** Connections leased (in use) and in the pool (`size`: all that exist, `available`: idle in the pool). */
  get stats(): { active: number; size: number; available: number } {
    const first = this.#first === null || this.#closed ? 0 : 1;
    const generic = this.#pool;
    return {
      active: this.#active.length,
      size: first + this.#retiring.size + (generic?.size ?? 0),
      // Once closed, none is: generic-pool's `clear()` leaves its count of idle ones as it was.
      available: this.#closed ? 0 : (generic?.available ?? 0),
    };
  }

  /** Requests written and not yet answered, over all connections. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.#active) n += c.inFlight;
    return n;
  }

  /** Requests waiting to be written, over all connections (and for the first one). */
  get queued(): number {
    let n = this.#waiting.length;
    for (const c of this.#active) n += c.queued;
    return n;
  }

  /** Requests it can queue before `QueueFullError`: `maxQueue`, whatever the number of connections. */
  get queueLimit(): number {
    return this.#maxQueue;
  }

  /** Latency EWMA of its connections (the mean of those that have one), ms; -1 before any. */
  get latency(): number {
    let sum = 0;
    let n = 0;
    for (const c of this.#active) {
      if (c.latency >= 0) {
        sum += c.latency;
        n++;
      }
    }
    return n === 0 ? -1 : sum / n;
  }

  /** Replies answered over all connections: the sign of life health tracking goes by. */
  get answered(): number {
    let n = 0;
    for (const c of this.#active) n += c.answered;
    return n;
  }

  /** The rare ends of `send`: the queue is full, or no connection is open yet. */
  #refuseOrWait(req: Attempt, queued: number): void {
    if (queued >= this.#maxQueue) {
      const message = `${queued} requests already queued (maxQueue)`;
      req.fail(new QueueFullError(message, { server: this.#label }));
      return;
    }
    this.#waiting.push(req);
    if (this.#acquiring === 0) this.#lease();
  }

  /** Sends `req` on the least-loaded connection. */
  send(req: Attempt): void {
    if (this.#closed) {
      req.fail(new ClientClosedError("the client is closed"));
      return;
    }
    const active = this.#active;
    // One pass: the least-loaded connection, and what waits over all of them (maxQueue is per server).
    let queued = this.#waiting.length;
    let best: Connection | null = null;
    let load = 0;
    for (let i = 0; i < active.length; i++) {
      const c = active[i]!;
      const q = c.queued;
      queued += q;
      const l = q + c.inFlight; // its load
      if (best === null || l < load) {
        best = c;
        load = l;
      }
    }
    if (queued >= this.#maxQueue || best === null) {
      this.#refuseOrWait(req, queued);
      return;
    }
    if (load >= this.#growAt && active.length + this.#acquiring < this.#opts.max) this.#lease();
    best.send(req);
  }

  /**
   * Sends an attempt from `make` on every connection (or, before the first, as the next to be sent):
   * when all are answered, everything sent before them has been processed — each connection is
   * FIFO.
   */
  sendToEach(make: () => Attempt): void {
    if (this.#closed || this.#active.length === 0) this.send(make());
    else for (const c of this.#active) c.send(make());
  }

  /**
   * Replaces every connection: new requests go to fresh ones (which look the host up again), the
   * old ones close once what is under way on them is answered. Those idle in generic-pool close now,
   * so that no later lease reaches the old address (generic-pool destroys a closed one when it would
   * hand it out); then `min` are held again.
   */
  recycle(): void {
    if (this.#closed) return;
    const old = this.#active;
    const first = this.#first;
    if (this.#connection.pin != null) this.#connection = { ...this.#connection, pin: new HostPin() };
    this.#active = [];
    if (first !== null) this.#active.push((this.#first = this.#newConnection()));
    const generic = this.#pool;
    for (const c of old) {
      // What they have not written yet goes on the new connections, not to the old address.
      const closing = c.close((attempt) => this.send(attempt)).catch(() => undefined);
      if (c === first) {
        // Never generic-pool's (whose drain waits for the leased ones): `close()` waits for it here.
        this.#retiring.set(c, closing);
        closing.then(() => this.#retiring.delete(c));
      } else if (generic !== null) closing.then(() => generic.destroy(c)).catch(() => undefined);
    }
    for (const c of this.#made) if (!old.includes(c)) c.close().catch(() => undefined);
    this.#leaseUpTo(Math.min(this.#opts.min, this.#opts.max));
  }

  /** Closes every connection after what is under way, and the pool. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#waiting.splice(0)) r.fail(new ConnectionError("the client is closed"));
    if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
    const active = this.#active;
    this.#active = [];
    await Promise.all([...active.map((c) => c.close()), ...this.#retiring.values()]);
    const generic = this.#pool;
    if (generic === null) return;
    for (const c of active) if (c !== this.#first) await generic.release(c).catch(() => undefined);
    await generic.drain();
    await generic.clear();
  }

  /** Leases one more connection. `create` resolves at once, so this completes within a few ticks. */
  #lease(): void {
    this.#acquiring++;
    const generic = this.#generic();
    generic.acquire().then(
      (c) => {
        this.#acquiring--;
        if (this.#closed) {
          generic.release(c).catch(() => undefined);
          for (const r of this.#waiting.splice(0)) r.fail(new ClientClosedError("the client is closed"));
          return;
        }
        if (c.closed) {
          // A recycle closed it while generic-pool was handing it over: it may reach the old address.
          generic.destroy(c).catch(() => undefined);
          this.#lease();
          return;
        }
        this.#active.push(c);
        this.#lastSent.set(c, c.sent);
        const waiting = this.#waiting;
        this.#waiting = [];
        for (const r of waiting) this.send(r); // the normal path: a burst here leases more
        if (this.#active.length > this.#opts.min && this.#idleTimer === null) this.#watchIdle();
      },
      (err: unknown) => {
        this.#acquiring--;
        if (this.#active.length > 0) return;
        const waiting = this.#waiting;
        this.#waiting = [];
        const error =
          err instanceof ConnectionError
            ? err
            : withoutStack(
                () => new ConnectionError("no connection could be had from the pool", { cause: err }),
              );
        for (const r of waiting) r.fail(error);
      },
    );
  }

  /** While more than `min` are leased, hands back the ones that stay unused. */
  #watchIdle(): void {
    const period = Math.max(100, Math.floor(this.#opts.idleTimeoutMillis / 2));
    this.#idleTimer = setInterval(() => {
      for (const c of [...this.#active]) {
        if (this.#active.length <= this.#opts.min) break;
        if (c === this.#first) continue;
        const idle = c.sent === this.#lastSent.get(c) && c.load === 0;
        this.#lastSent.set(c, c.sent);
        if (idle) {
          this.#active = this.#active.filter((x) => x !== c);
          this.#pool?.release(c).catch(() => undefined);
        }
      }
      if (this.#active.length <= this.#opts.min && this.#idleTimer !== null) {
        clearInterval(this.#idleTimer);
        this.#idleTimer = null;
      }
    }, period);
    this.#idleTimer.unref();
  }
}
