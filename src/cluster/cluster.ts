/**
 * `execute(call)`: the one place that turns a call into attempts and decides what follows each of
 * them — routing, replica choice, replicated writes, batch split, failover, retries with back-off,
 * fail-fast and `failOpen`, the gutter's TTL cap, deadline shares and write-failure noting. The
 * decisions themselves are the pure functions of `policy.ts`; this file is their control flow.
 *
 *   execute(call) ─▶ route ─▶ Attempt ─▶ server ─▶ pool ─▶ connection ─▶ … reply
 *                                ▲                                            │
 *                                └── failed(): failover / retry / fail ◀──────┘ (succeeded(): settle)
 *
 * The cluster is the sink of every attempt it makes; nothing below this layer retries or fails over.
 */
import type { AttemptSink } from "../connection/attempt.js";
import { type Call, CallAttempt, Failed, routeOf } from "./call.js";
import type { ClusterOptions } from "./cluster-options.js";
import { type Membership, NOT_TRIED, type RoutingKey } from "./membership.js";
import type { Frame } from "../protocol/frame.js";
import {
  afterFailure,
  attemptFrame,
  backoff,
  Failure,
  failureOf,
  failsOver,
  groupByTarget,
  hedgeable,
  isIdempotent,
  isRead,
  isWrite,
  Next,
  readShare,
  unreachable,
} from "./policy.js";
import { type Server, unsentError } from "./server.js";
import { Freshness } from "./freshness/freshness.js";
import { Replication } from "./replication.js";
import { AttemptTracer } from "./tracing.js";
import { Hedger, hedgeTarget, NO_HEDGES } from "./hedging.js";
import { holdCall, StartGate } from "./start-gate.js";
import { WarmUp } from "./warm-up.js";

export class Cluster implements AttemptSink<Call, Server | undefined> {
  /** Attempts sent again after a connection failure (back-off retries). */
  retried = 0;
  /** Reads moved to another replica. */
  failedOver = 0;
  #closed = false;
  /** Calls made before the first server list is known wait here. */
  readonly #gate = new StartGate();
  readonly #executeBound = (call: Call) => this.execute(call);
  readonly #membership: Membership;
  readonly #options: ClusterOptions;
  readonly #tracer: AttemptTracer;
  /** Which copies may be stale, and their repairs. */
  readonly freshness: Freshness;
  readonly #replication: Replication;
  readonly #sendBound = (a: CallAttempt) => this.#sendAttempt(a);
  /** Warm-up after a change of the server list or a replica's restart, or null. */
  readonly warmUp: WarmUp | null;
  /** Hedged reads, or null without `hedge`. */
  readonly #hedger: Hedger | null;

  constructor(membership: Membership, options: ClusterOptions) {
    this.#membership = membership;
    this.#options = options;
    this.#tracer = new AttemptTracer(options.client, options.traceKeys);
    const freshness = new Freshness(membership, options, options.events);
    this.freshness = freshness;
    this.#replication = new Replication(membership, freshness, options, (call, server, timeout, replica) =>
      this.#attempt(call, server, timeout, replica, null),
    );
    this.#hedger = options.hedge === null ? null : new Hedger(options.hedge, (a) => this.#hedge(a));
    this.warmUp = options.warmUp === null ? null : new WarmUp(membership, freshness, options.warmUp, this);
  }

  /** Until `first` settles (the first DNS or discovery answer), calls wait for it (see `start-gate.ts`). */
  waitFor(first: Promise<void>): void {
    this.#gate.waitFor(first);
  }

  /** Sends `call` where its key(s) live; resolves or rejects its promise, which it returns. */
  execute(call: Call): Promise<unknown> {
    if (this.#gate.waiting !== null)
      return this.#gate.hold(call, this.#executeBound, () => this.#membership.whyEmpty);
    const copy = this.warmUp !== null && isWrite(call.frame.op) ? this.warmUp.copyOf(call.frame) : null;
    if (copy !== null) return holdCall(call, copy, this.#executeBound, "a warm-up copy of its key");
    if (call.keys !== null) {
      this.#executeBatch(call);
      return call.promise;
    }
    const m = this.#membership;
    const frame = call.frame;
    const key = call.routingKey!;
    call.retriesLeft = this.#options.retries.attempts;
    if (isWrite(frame.op) || frame.ttl >= 0) this.#noteWrite(frame, key);
    if (m.replicas === 1) this.#attempt(call, m.owner(key), call.timeout, 0, null);
    else if (isRead(frame.op))
      this.#attempt(call, m.readTarget(key, NOT_TRIED, frame.op), call.timeout / m.replicas, 0, null);
    else this.#replication.replicate(call, key);
    return call.promise;
  }

  /** Writes are noted while a server is away, the list changed or a replica is warmed; a touch's TTL counts too. */
  #noteWrite(frame: Frame, key: RoutingKey): void {
    if (isWrite(frame.op)) {
      this.freshness.noteWrite(frame, key, null);
      if (this.warmUp?.watchingWrites === true) this.warmUp.noteWrite(frame);
    } else this.freshness.noteTtl(frame.ttl);
  }

  /** Sends `call` to `server` (server commands: stats, version, flush, noop). */
  executeOn(server: Server, call: Call): Promise<unknown> {
    this.#attempt(call, server, call.timeout, 0, null);
    return call.promise;
  }

  /**
   * One call from `make` to each server — every one (`all`), or those up — each settling as
   * `[label, result]`.
   */
  executeOnEach(all: boolean, make: () => Call): Promise<[string, unknown]>[] {
    const servers = this.#membership.servers.filter((s) => all || s.state === "up");
    const calls = servers.map(() => make());
    return servers.map((s, i) => this.executeOn(s, calls[i]!).then((r): [string, unknown] => [s.label, r]));
  }

  /** Stops retrying and hedging; what is under way finishes or reaches its deadline. */
  close(): void {
    this.#closed = true;
    this.#hedger?.close();
  }

  /** Hedges sent, won, and not sent for want of budget (zeros without `hedge`). */
  get hedges(): Hedger["counts"] {
    return { ...(this.#hedger?.counts ?? NO_HEDGES) };
  }

  /** Sends the hedge of the slow read `a` to its next replica; false when there is none (or no time). */
  #hedge(a: CallAttempt): boolean {
    const call = a.call;
    if (call.settled || this.#closed || a.rival !== null) return false;
    const next = hedgeTarget(a, this.#membership, this.freshness, a.tried());
    const left = call.endsAt() - performance.now();
    if (next === undefined || left < 1) return false;
    const share = readShare(left, this.#membership.replicas - a.replica - 1);
    this.#attempt(call, next, share, a.replica + 1, a.indices, a, a);
    return true;
  }

  // ── attempts ────────────────────────────────────────────────────────────────

  /** One attempt of `call` on `server` (`indices`: a batch's share of the keys); see `#sendAttempt`. */
  #attempt(
    call: Call,
    server: Server | undefined,
    timeout: number,
    replica: number,
    indices: readonly number[] | null,
    previous: CallAttempt | null = null,
    hedgeOf: CallAttempt | null = null,
  ): CallAttempt {
    const frame =
      indices === null && server?.gutter !== true
        ? call.frame
        : attemptFrame(call.frame, indices, server?.gutter === true ? this.#options.gutterTtl! : null);
    const a = new CallAttempt(frame, call.handler, this, call, server, timeout);
    a.replica = replica;
    a.indices = indices;
    a.previous = previous;
    if (call.keys === null && call.outcomes === null && hedgeOf === null) {
      a.result = call.result;
      call.attempt = a;
    } else this.#track(call, a, hedgeOf);
    // With hedging: a first try of a read, with a replica to hedge on.
    const hedger = this.#hedger;
    if (hedger !== null && previous === null && hedgeable(frame.op) && this.#membership.replicas > 1)
      hedger.watch(a);
    if (this.#tracer.active) this.#tracer.around(a, this.#sendBound);
    else this.#sendAttempt(a);
    return a;
  }

  /** An attempt among several of its call at once: a batch's part, a replica's write, a hedge. */
  #track(call: Call, a: CallAttempt, hedgeOf: CallAttempt | null): void {
    // A getMany's parts share the call's hit map; a write batch's part collects its own booleans.
    if (call.keys === null || call.result instanceof Map) a.result = call.result;
    else a.result = new Array<boolean>(a.frame.batch!.keys.length).fill(true);
    if (hedgeOf !== null) {
      a.isHedge = true;
      a.rival = hedgeOf;
      hedgeOf.rival = a;
    }
    call.track(a);
  }

  /**
   * Sends `a` to its server; a read may first wait for a repair there or miss a key that may be stale
   * there, and a write that acts on the item may first delete such a copy. A server that is down — or none at all — fails it without waiting, on the next turn of the
   * event loop: a caller that tries again in a loop cannot starve the timers of the probes.
   */
  #sendAttempt(a: CallAttempt): void {
    const server = a.target;
    const m = this.#membership;
    if (server === undefined || server.state !== "up")
      setImmediate(failAttempt, a, unsentError(server, m.servers, m.whyEmpty));
    else if (this.freshness.nothingToGuard || !this.freshness.hold(a, server, this.#sendBound))
      server.pool.send(a);
  }

  /** @internal An attempt its call gave up on (the call settled another way): its trace ends. */
  abandoned(a: CallAttempt): void {
    this.#tracer.abandoned(a);
  }

  /** @internal An attempt answered. */
  succeeded(a: CallAttempt, value: unknown): void {
    this.#tracer.settled(a, value, undefined, false);
    const call = a.call;
    // A single read or write, without hedging: in few enough bytes that the reply path inlines it.
    if (this.#hedger === null && call.keys === null && call.outcomes === null && call.copies === null) {
      if (value !== undefined || this.warmUp === null || !this.warmUp.missed(a)) call.succeed(value);
      return;
    }
    this.#succeededOther(a, value);
  }

  #succeededOther(a: CallAttempt, value: unknown): void {
    const call = a.call;
    const hedger = this.#hedger;
    if (hedger !== null && isRead(a.frame.op)) {
      if (hedger.sampling && a.target !== undefined && a.queuedAt > 0) {
        hedger.sample(a.target, performance.now() - a.queuedAt); // (a miss answered here has none)
      }
      if (a.rival !== null) hedger.won(a);
    }
    if (call.keys !== null) this.#partDone(a);
    else if (call.outcomes !== null) this.#replication.replicaDone(a, value);
    else if (call.copies !== null) this.#replication.alignReplicas(call, value, a.target);
    else if (value !== undefined || this.warmUp === null || !this.warmUp.missed(a)) call.succeed(value);
  }

  /** @internal An attempt failed: note a write that may not have landed, then fail over, retry or give up. */
  failed(a: CallAttempt, error: unknown): void {
    this.#tracer.settled(a, undefined, error, true);
    const call = a.call;
    if (a.rival !== null && this.#hedger!.rivalCarriesOn(a)) return;
    const failure = failureOf(error);
    if (
      a.target !== undefined &&
      isWrite(a.frame.op) &&
      failure !== Failure.Final &&
      failure !== Failure.Refused
    ) {
      this.freshness.noteFailedWrite(a.target, a.frame, (i) => routeOf(call, a, i), error);
    }
    if (failure === Failure.Timeout && a.carrier !== null && isWrite(a.frame.op))
      this.freshness.followLateWrite(a);
    if (call.settled) return;
    const retry = this.#options.retries;
    const delay = backoff(call.retriesUsed, retry.baseDelay, retry.maxDelay, Math.random());
    const next = this.#closed
      ? Next.Fail
      : afterFailure({
          failure,
          read: isRead(a.frame.op),
          replicas: this.#membership.replicas,
          tried: a.replica + 1,
          replicaLeft: this.#nextReplica(a) !== undefined,
          retriesLeft: call.retriesLeft,
          idempotent: isIdempotent(a.frame),
          timeLeft: call.endsAt() - performance.now(),
          delay,
        });
    if (next === Next.Failover) {
      this.failedOver++;
      this.#failover(a, a.indices);
    } else if (next === Next.Retry) {
      call.retriesLeft--;
      call.retriesUsed++;
      this.retried++;
      setTimeout(() => this.#retry(a, error), delay);
    } else this.#giveUp(a, error);
  }

  /** Where a read that failed in `a` goes next: the first replica that is up and not tried. */
  #nextReplica(a: CallAttempt): Server | undefined {
    if (this.#membership.replicas === 1 || !failsOver(a.frame.op)) return undefined;
    const call = a.call;
    const key = call.routingKey ?? call.keys![a.indices === null ? 0 : a.indices[0]!]!;
    return this.#membership.readTarget(key, a.tried());
  }

  /** The read (a batch's keys at `indices`) goes on, at once, on the next replica with a share of the time left. */
  #failover(a: CallAttempt, indices: readonly number[] | null): void {
    const call = a.call;
    const replica = a.replica + 1;
    const share = readShare(call.endsAt() - performance.now(), this.#membership.replicas - replica);
    if (call.keys === null) {
      this.#attempt(call, this.#nextReplica(a), share, replica, null, a);
      return;
    }
    // A batch's keys regroup by their next replica; the call waits for the new parts instead.
    const tried = a.tried();
    const m = this.#membership;
    const groups = groupByTarget(call, indices, (key) => m.readTarget(key, tried), m.servers.length === 1);
    call.pending += groups.size - 1;
    for (const [server, part] of groups) this.#attempt(call, server, share, replica, part, a);
  }

  /** Sends a failed attempt's command again, to where its key lives now. */
  #retry(a: CallAttempt, error: unknown): void {
    const call = a.call;
    if (call.settled) return;
    const left = call.endsAt() - performance.now();
    if (this.#closed || left <= 1) {
      this.#giveUp(a, error);
      return;
    }
    const m = this.#membership;
    const key = call.routingKey!;
    const target =
      call.outcomes !== null
        ? m.replicasOf(key)[a.replica]
        : isRead(a.frame.op)
          ? m.readTarget(key)
          : m.owner(key);
    this.#attempt(call, target, left, a.replica, null, a);
  }

  /** No more tries: the call fails — or, for a read of an unreachable server with `failOpen`, misses. */
  #giveUp(a: CallAttempt, error: unknown): void {
    const call = a.call;
    // Unreachable: a connection error (a down server, no server at all), a timeout, a full queue.
    const miss = this.#options.failOpen && isRead(a.frame.op) && unreachable(error);
    if (call.keys !== null) {
      if (miss || a.bestEffort) this.#partDone(a);
      else call.fail(error);
    } else if (call.outcomes !== null) this.#replication.replicaDone(a, new Failed(error));
    else if (miss) call.succeed(call.miss);
    else call.fail(error);
  }

  /**
   * A multi-key call: one attempt per server with that server's keys (all of them to one server
   * with a `hashKey`, or when there is only one). Reads go to each key's first replica that is up;
   * writes to each key's owner, and with replicas, copies to the other replicas as calls of their
   * own whose answers do not change the caller's (best effort), but which it waits for.
   */
  #executeBatch(call: Call): void {
    const m = this.#membership;
    const op = call.frame.op;
    const write = isWrite(op);
    const keys = call.keys!;
    let copies = 0;
    if (write && call.replica === 0) {
      const routing = call.routingKey;
      this.freshness.noteWrite(call.frame, routing ?? "", (i) => routing ?? keys[i]!);
      if (this.warmUp?.watchingWrites === true) this.warmUp.noteWrite(call.frame);
      copies = this.#replication.copyBatch(call, m.replicas, (copy) => this.#executeBatch(copy));
    }
    const replica = call.replica;
    // Copy 0 goes where a read would find it: the first replica that is up.
    const target =
      replica === 0
        ? (key: RoutingKey) => m.readTarget(key, NOT_TRIED, write ? undefined : op)
        : (key: RoutingKey) => m.replicasOf(key)[replica];
    const timeout = write ? call.timeout : readShare(call.timeout, m.replicas);
    const groups = groupByTarget(call, null, target, m.servers.length === 1);
    call.pending = groups.size + copies;
    for (const [server, indices] of groups) this.#attempt(call, server, timeout, replica, indices);
  }

  /** A batch part answered (or missed with `failOpen`): merge its results; the call ends with its last part. */
  #partDone(a: CallAttempt): void {
    const call = a.call;
    const out = call.result;
    if (Array.isArray(out)) {
      const mine = a.result as boolean[];
      const indices = a.indices;
      for (let j = 0; j < mine.length; j++) out[indices === null ? j : indices[j]!] = mine[j] === true;
    }
    // A getMany's misses on a replica that may have restarted empty go on to the next replica.
    const missed = out instanceof Map && this.warmUp !== null ? this.warmUp.missedMany(a) : null;
    if (missed !== null) this.#failover(a, missed);
    else if (--call.pending === 0) call.succeed(out);
  }
}

function failAttempt(a: CallAttempt, error: unknown): void {
  a.fail(error);
}
