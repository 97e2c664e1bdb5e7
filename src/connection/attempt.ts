/**
 * An Attempt: one try of a command on one server. It is what a connection queues, writes and pairs
 * with a reply — the {@link Frame} to encode, the FIFO slot's state, the opaque it was written with
 * and this try's deadline. It knows nothing of why it was made (a first try, a retry, a failover, a
 * copy to a replica): when it settles, it tells its {@link AttemptSink}, which decides what follows.
 *
 * Life cycle: QUEUED (in a connection's pending queue, not on the wire) → WRITTEN (in the in-flight
 * FIFO) → SETTLED. An attempt settled while QUEUED (timeout, abort) is never sent; one settled while
 * WRITTEN keeps its FIFO slot so that its late reply is read and dropped.
 *
 * No closure is made per attempt: the sink and the reply handler are objects shared by many attempts.
 */
import type { Frame } from "../protocol/frame.js";
import type { Reply } from "../protocol/reply.js";

/** Attempt states. */
export const QUEUED = 0;
export const WRITTEN = 1;
export const SETTLED = 2;

/** The connection an attempt was written on, as far as its sink needs it: to send a follow-up on it. */
export interface AttemptCarrier {
  /** Queues `attempt` behind everything already queued or written on this connection. */
  send(attempt: Attempt): void;
  /** Closed for good (or closing): a follow-up would not be sent. */
  readonly closed: boolean;
}

/** Who hears how an attempt ended (the cluster for calls; a connection or a server for its own). */
export interface AttemptSink<C, T> {
  succeeded(attempt: Attempt<C, T>, value: unknown): void;
  failed(attempt: Attempt<C, T>, error: unknown): void;
  /** Told when the attempt is given up on without an outcome (see {@link Attempt.abandon}). */
  abandoned?(attempt: Attempt<C, T>): void;
}

/**
 * Interprets the replies of one kind of command. Shared by every attempt of that kind; `R` is the
 * reply type of the protocol it is written for.
 */
export interface ReplyHandler<R extends Reply = Reply, C = unknown, T = unknown> {
  /**
   * Called with each reply that belongs to `attempt` (the head of the in-flight FIFO). Settles it
   * unless it is already settled, in which case the reply is only consumed. Returns true when this
   * was the attempt's last reply. Throws a `ProtocolError` for a reply that cannot belong to it.
   */
  onReply(attempt: Attempt<C, T>, reply: R): boolean;
}

/**
 * One try of `frame` on one server. `C` is the call it belongs to and `T` the server it was sent to,
 * as the layer that made it knows them; the connection reads neither.
 */
export class Attempt<C = unknown, T = unknown> {
  /** QUEUED, as a literal: a binding read in a field initializer slows every construction. */
  state = 0;
  /** Opaque of the first line written (set when encoded). */
  opaque = 0;
  /** Absolute deadline (`performance.now()` clock); 0 until queued, when it becomes `queuedAt + timeout`. */
  deadline = 0;
  /** When a connection queued it (0 before): the clock reading of its event-loop turn. */
  queuedAt = 0;
  /** The connection it was queued on; cleared when it times out before being written. */
  carrier: AttemptCarrier | null = null;
  constructor(
    readonly frame: Frame,
    readonly handler: ReplyHandler<Reply, C, T>,
    readonly sink: AttemptSink<C, T>,
    readonly call: C,
    readonly target: T,
    /** Time allowed for this try, ms (used when `deadline` is 0 at queueing). */
    readonly timeout: number,
  ) {}

  /** Settles with a value. Returns false (and does nothing) when already settled. */
  succeed(value: unknown): boolean {
    if (this.state === SETTLED) return false;
    this.state = SETTLED;
    this.sink.succeeded(this, value);
    return true;
  }

  /** Settles with an error. Returns false (and does nothing) when already settled. */
  fail(error: unknown): boolean {
    if (this.state === SETTLED) return false;
    this.state = SETTLED;
    this.sink.failed(this, error);
    return true;
  }

  /**
   * Gives up on it without an outcome (its call ended another way): never sent, or its reply dropped.
   * The sink hears of it through `abandoned`, not `succeeded` or `failed`.
   */
  abandon(): void {
    this.state = SETTLED;
    this.sink.abandoned?.(this);
  }
}

/**
 * Gives the class `target` the methods of {@link Attempt}. A layer that keeps more per attempt declares
 * its own class with every field of Attempt (see `CallAttempt`) instead of a subclass: V8 (Node 20)
 * builds an instance of a derived class several times slower than one of a plain class, and one is
 * built per attempt.
 */
export function withAttemptMethods(target: { prototype: object }): void {
  for (const name of Object.getOwnPropertyNames(Attempt.prototype)) {
    if (name === "constructor") continue;
    Object.defineProperty(target.prototype, name, Object.getOwnPropertyDescriptor(Attempt.prototype, name)!);
  }
}
