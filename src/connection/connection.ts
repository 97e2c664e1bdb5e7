/**
 * One connection to one memcached server, pipelined, over a socket that is reopened when lost.
 *
 * - Writes: the attempts sent together go out in one batch (when: `Pipeline.schedule`), up to
 *   `maxInFlight` in flight and `maxQueue` waiting; after `write()` returns false, none until `drain`.
 * - Replies come back in order, each to the head of the in-flight FIFO; a reply that cannot belong
 *   to it is a `ProtocolError` that destroys the socket and fails everything in flight with
 *   `ConnectionError` — never a wrong value to a caller.
 * - Deadlines and a silent server: checked on the shared ticker (`watchdog.ts`), no timer per attempt.
 * - Reconnect: lazily, on the next attempt (connects paced per turn: `connect-pacing.ts`).
 *
 * It knows nothing of calls, replicas, retries or health (how often a failing server is tried is the
 * cluster's decision): an attempt that fails is handed back to its sink, which decides what follows.
 */
import type { Fifo } from "../util/fifo.js";
import { connectionOpenChannel, publishConnectionClose } from "../diagnostics.js";
import { AuthError, type MemcachedError } from "../errors.js";
import type { WireProtocol } from "../protocol/reply.js";
import { labelOf } from "../util/servers.js";
import type { Tickable } from "../util/ticker.js";
import type { Attempt, AttemptCarrier } from "./attempt.js";
import { whenConnectAllowed } from "./connect-pacing.js";
import { Link, type LinkEvents, sharedReadBuffer } from "./dial.js";
import { helloAttempts, nudgeAttempt } from "./handshake.js";
import { Pipeline } from "./pipeline.js";
import { DeadlineWatch, HUNG, NUDGE, SilenceWatch } from "./watchdog.js";
import {
  closedByServer,
  destroyedError,
  hungError,
  lostError,
  refusal,
  refusedAtOnce,
  replyError,
} from "./failures.js";
import { markUnsent } from "./unsent.js";
import { IdleCheck } from "./idle-check.js";
import type { ConnectionEvents, ConnectionOptions } from "./connection-options.js";

const IDLE = 0; // no socket
const CONNECTING = 1;
const READY = 2;
const CLOSED = 3;

export class Connection implements Tickable, AttemptCarrier {
  /** `"host:port"`, or the socket path. */
  readonly label: string;
  readonly #options: ConnectionOptions;
  readonly #events: ConnectionEvents;
  #state = IDLE;
  #closing = false;
  /** The current socket, or null. */
  #link: Link | null = null;
  /** Its queues, encoder and parser. */
  readonly #pipe: Pipeline;
  readonly #protocol: WireProtocol;
  readonly #silence: SilenceWatch;
  #flushScheduled = false;
  /**
   * Clock reading taken when the pending flush was scheduled: the attempts queued before it runs were
   * made in its turn and take their deadline from it (a deadline can only come early, by that turn).
   */
  #batchNow = 0;
  readonly #deadlines = new DeadlineWatch(this);
  /** The current socket was unref'd when the connection went idle (`allowExitOnIdle`). */
  #unrefd = false;
  /** Reads so far: the silence watch's sign of life (a long reply streaming in is not a hang). */
  #reads = 0;
  #sent = 0;
  /** Callers of close() waiting for what is under way. */
  readonly #drained: (() => void)[] = [];
  readonly #idle: IdleCheck;

  readonly #flushBound = () => this.#flush(); // handlers bound once per connection, not per attempt
  readonly #linkEvents: LinkEvents = {
    onReady: (link) => {
      if (link !== this.#link) return;
      if (link.elsewhere) this.#redial(link);
      else this.#onReady();
    },
    onBytes: (link, chunk) => {
      if (link === this.#link) this.#data(chunk);
    },
    onDrain: (link) => {
      if (link !== this.#link) return;
      this.#pipe.blocked = false;
      this.#flush();
    },
    onLost: (link, err, connecting) => {
      if (link !== this.#link) return;
      if (connecting) this.#connectFailed(markUnsent(err));
      else this.#fatal(err);
    },
    onEnd: (link) => {
      if (link !== this.#link) return;
      if (this.#pipe.owed > 0) {
        this.#fatal(closedByServer(this.label));
        return;
      }
      // Nothing owed: an idle connection the server closed (idle timeout, restart) is no failure.
      this.#retire();
      this.#events.onServerClosed?.(this);
      if (this.#pipe.pending.count > 0 && this.#state === IDLE) this.#connect();
    },
  };

  constructor(options: ConnectionOptions, events: ConnectionEvents = {}) {
    this.#options = options;
    this.#events = events;
    this.label = labelOf(options);
    this.#protocol = options.protocol ?? "meta";
    this.#silence = new SilenceWatch(options.socketTimeout, options.tls != null);
    this.#idle = new IdleCheck(options.maxIdle ?? 0);
    this.#pipe = new Pipeline(this.#protocol, options.tls == null, options.maxValueSize, options.maxInFlight);
  }

  /** Attempts written and not answered yet (timed-out ones included; TLS nudges, owed to nobody, not). */
  get inFlight(): number {
    return this.#pipe.owed;
  }

  /** Attempts waiting to be written. */
  get queued(): number {
    return this.#pipe.pending.count;
  }

  /** Round-trip latency, ms: an exponentially weighted average of sampled attempts (one batch in eight); -1 before any. */
  get latency(): number {
    return this.#pipe.latency;
  }

  /** Attempts sent on this connection so far (idle detection by the pool). */
  get sent(): number {
    return this.#sent;
  }

  /** Attempts waiting or in flight: how busy the connection is. */
  get load(): number {
    return this.#pipe.pending.count + this.#pipe.owed;
  }

  /** Closed for good (by close() or destroy()). */
  get closed(): boolean {
    return this.#state === CLOSED || this.#closing;
  }

  /** Attempts answered so far: health's sign of life (bytes alone are not: a dribbling server is failing). */
  get answered(): number {
    return this.#pipe.answered;
  }

  /** Queues `attempt`; it settles through its sink (never throws). */
  send(attempt: Attempt): void {
    const closed = this.#state === CLOSED || this.#closing;
    if (closed || this.#pipe.pending.count >= this.#options.maxQueue) {
      attempt.fail(refusal(closed, this.#pipe.pending.count, this.label));
      return;
    }
    if (this.#state === IDLE) this.#connect();
    let now: number;
    if (this.#flushScheduled) now = this.#batchNow;
    else {
      now = performance.now();
      const idleFor = this.#idle.used(now, this.#pipe.owed);
      if (idleFor > 0 && this.#state === READY && this.#idle.stale(idleFor, now)) {
        this.#retire(); // for a new socket, dialled at once for this attempt
        this.#connect();
      }
      if (this.#state === READY && !this.#pipe.blocked) {
        this.#flushScheduled = true;
        this.#batchNow = now;
        // After a pause, a FIN already received is read first (its I/O callback runs before `setImmediate`).
        this.#pipe.schedule(this.#flushBound, idleFor > 0);
      }
    }
    attempt.queuedAt = now;
    if (attempt.deadline === 0) attempt.deadline = now + attempt.timeout;
    attempt.carrier = this;
    this.#pipe.pending.push(attempt);
    this.#sent++;
    this.#deadlines.watch(attempt.deadline);
  }

  /** Lets what waits finish or time out (`handOff` takes the unwritten attempts), then closes the socket. */
  close(handOff?: (attempt: Attempt) => void): Promise<void> {
    if (this.#state === CLOSED) return Promise.resolve();
    this.#closing = true;
    if (handOff !== undefined) for (const a of this.#pipe.takeUnwritten()) handOff(a);
    if (this.#pipe.pending.count === 0 && this.#pipe.owed === 0) {
      this.#shutdown();
      return Promise.resolve();
    }
    this.#deadlines.soon(); // each tick looks for the moment nobody waits any more
    return new Promise<void>((resolve) => this.#drained.push(resolve));
  }

  /** Closes now: waiting attempts fail with `ClientClosedError`. */
  destroy(): void {
    this.#closing = true;
    const err = destroyedError(this.label);
    this.#failAll(this.#pipe.pending, err);
    this.#teardown(err);
    this.#shutdown();
  }

  /** Connects now, or in a later turn when this one started many (`connect-pacing.ts`). */
  #connect(): void {
    this.#state = CONNECTING;
    this.#unrefd = false;
    whenConnectAllowed(this.#dial);
  }

  readonly #dial = (): void => {
    if (this.#state !== CONNECTING || this.#link !== null) return;
    try {
      this.#link = new Link(this.#options, this.label, sharedReadBuffer(), this.#linkEvents);
    } catch (err) {
      // Options `net` or `tls` refuse at once (a bad certificate): what waits fails, saying why.
      this.#connectFailed(markUnsent(refusedAtOnce(this.label, err)));
    }
  };

  /** Its socket reached another address than the server's other connections (`host-pin.ts`): dial theirs. */
  #redial(link: Link): void {
    this.#link = null;
    link.destroy();
    this.#connect();
  }

  #onReady(): void {
    this.#state = READY;
    this.#idle.watch(true);
    if (connectionOpenChannel.hasSubscribers) connectionOpenChannel.publish({ server: this.label });
    // First on the wire, ahead of whatever waited for the connection: authentication, then the
    // `version` handshake (see `handshake.ts`).
    const o = this.#options;
    const hello = helloAttempts(this.#protocol, o.auth ?? null, o.handshake === true, o.connectTimeout);
    for (let i = hello.length - 1; i >= 0; i--) {
      this.#deadlines.watch(hello[i]!.deadline);
      this.#pipe.pending.unshift(hello[i]!);
    }
    this.#flush();
  }

  /** The connect failed: what waits for this connection fails with the reason. */
  #connectFailed(err: MemcachedError): void {
    this.#link = null;
    this.#state = this.#closing ? CLOSED : IDLE;
    this.#failAll(this.#pipe.pending, err);
    this.#events.onClose?.(this, err);
    this.#maybeIdle();
  }

  #flush(): void {
    this.#flushScheduled = false;
    const p = this.#pipe;
    if (this.#state !== READY || p.blocked) return;
    const wasIdle = p.owed === 0;
    if (p.flush(this.#link!.socket) && wasIdle) {
      this.#silence.restart();
      this.#deadlines.soon();
      if (this.#unrefd) this.#link!.socket.ref();
      this.#unrefd = false;
    }
  }

  #data(chunk: Buffer): void {
    this.#reads++;
    try {
      this.#pipe.feed(chunk);
    } catch (err) {
      this.#fatal(replyError(err));
      return;
    }
    if (this.#pipe.writable && !this.#flushScheduled) {
      this.#flushScheduled = true;
      this.#batchNow = performance.now();
      this.#pipe.schedule(this.#flushBound);
    }
    if (this.#pipe.owed === 0) this.#maybeIdle();
  }

  /**
   * The socket is unusable (I/O error, protocol error, hang): destroy it and fail what is in flight
   * (those attempts may or may not have run). Queued attempts were never written: they go out on a
   * new connection.
   */
  #fatal(error: MemcachedError): void {
    if (this.#link === null) return;
    const err = lostError(error, this.label);
    this.#teardown(err);
    // Refused credentials: what waits would only be refused too (and reconnecting would repeat it).
    if (err instanceof AuthError) this.#failAll(this.#pipe.pending, err);
    this.#events.onClose?.(this, err);
    // Failed attempts may already have been sent again (by their sink), which reconnects by itself.
    if (this.#pipe.pending.count > 0 && !this.#closing && this.#state === IDLE) this.#connect();
    else this.#maybeIdle();
  }

  /** Closes the current socket quietly: nothing is owed on it (TLS nudges are owed to no one), it failed no one. */
  #retire(): void {
    const link = this.#link!;
    this.#link = null;
    this.#state = this.#closing ? CLOSED : IDLE;
    this.#pipe.inflight.clear();
    this.#pipe.reset();
    this.#idle.watch(false);
    link.destroy();
    publishConnectionClose(this.label);
    if (this.#closing) this.#maybeIdle(); // shuts down once nothing waits
  }

  #teardown(err: MemcachedError): void {
    const link = this.#link;
    this.#idle.watch(false);
    if (link !== null) publishConnectionClose(this.label, err);
    this.#link = null;
    this.#state = this.#closing ? CLOSED : IDLE;
    link?.destroy();
    this.#pipe.reset();
    this.#failAll(this.#pipe.inflight, err);
  }

  #failAll(queue: Fifo<Attempt>, err: MemcachedError): void {
    while (queue.count > 0) queue.shift()!.fail(err);
  }

  /** @internal */
  onTick(now: number): void {
    // Deadlines first: an attempt due now fails with its own TimeoutError, not with the hang
    // detector's error should both be due on the same tick (health counts them as one incident).
    if (this.#deadlines.expireDue(this.#pipe.pending, this.#pipe.inflight, now, this.label)) {
      this.#events.onTimeout?.(this);
    }
    if (this.#pipe.owed > 0) {
      const verdict = this.#silence.check(now, this.#reads);
      if (verdict === NUDGE) this.#nudge();
      else if (verdict === HUNG) {
        this.#fatal(hungError(this.label, now - this.#silence.waitingSince, this.#pipe.owed));
      }
    }
    this.#maybeIdle(true);
    this.#deadlines.rearm(this.#pipe.owed > 0 || this.#closing);
  }

  /**
   * Sends a no-op ahead of what waits, so that a TLS server reads what it left in its buffer (see
   * `watchdog.ts`). Written at once, past maxInFlight and backpressure, or a stalled server with the
   * in-flight window full would never see it (the writer is empty between flushes).
   */
  #nudge(): void {
    if (this.#state !== READY) return;
    const nudge = nudgeAttempt(this.#protocol, this.#options.connectTimeout);
    this.#deadlines.watch(nudge.deadline);
    this.#pipe.writeNudge(nudge, this.#link!.socket);
  }

  /**
   * Finishes a pending close once nothing waits. Leaving the ticker (and letting the process exit) is
   * left to a tick that finds it idle: one busy again before then does neither per request.
   */
  #maybeIdle(fromTick = false): void {
    const p = this.#pipe;
    if (p.pending.count > 0 || p.owed > 0) {
      // Closing, and every attempt has its answer or its timeout: no one waits for the late replies.
      if (this.#closing && p.nobodyWaits) this.#shutdown();
      return;
    }
    if (this.#closing) {
      this.#shutdown();
      return;
    }
    if (!fromTick && this.#deadlines.registered) {
      this.#deadlines.idle();
      return;
    }
    // Only a ready socket: one still connecting (TLS: its handshake) belongs to what waits for it.
    if (this.#options.allowExitOnIdle === true && this.#state === READY && this.#link !== null) {
      this.#link.socket.unref();
      this.#unrefd = true;
    }
    this.#deadlines.leave();
  }

  #shutdown(): void {
    this.#idle.watch(false);
    this.#pipe.inflight.clear();
    this.#pipe.nudges = 0;
    this.#deadlines.leave();
    const link = this.#link;
    this.#link = null;
    this.#state = CLOSED;
    if (link !== null) publishConnectionClose(this.label);
    // Nothing is owed on the wire any more: close at once.
    link?.destroy();
    if (link !== null) this.#events.onClose?.(this, undefined);
    for (const resolve of this.#drained.splice(0)) resolve();
  }
}
