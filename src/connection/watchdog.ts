/**
 * What a connection checks on each tick of the shared ticker: attempts past their deadline, and a
 * server that has gone silent.
 *
 * - Deadlines: an attempt past its deadline fails with `TimeoutError`. A queued one is never sent;
 *   a written one keeps its FIFO slot so its late reply is read and dropped.
 * - Hung server: replies owed and no byte read for `socketTimeout` → the connection is destroyed.
 *   (Health goes by replies answered instead: a server that dribbles bytes while every request times
 *   out counts as failing, see `cluster/server.ts`.)
 * - TLS nudge: memcached 1.6's TLS code does not look for records OpenSSL has already read off the
 *   socket, so a pipelined burst can stop halfway until more bytes arrive (seen with 1.6.18). A TLS
 *   connection that owes replies and has read nothing for {@link NUDGE_MS} sends a no-op, which
 *   wakes the server up. While nothing is read, the silence before the next nudge doubles, so a server
 *   that is really hung gets a handful of nudges before `socketTimeout`, not one per tick.
 */
import type { Fifo } from "../util/fifo.js";
import { TimeoutError } from "../errors.js";
import { cancelWake, type Tickable, Wake, wakeAt, wakeNextTick } from "../util/ticker.js";
import { type Attempt, SETTLED } from "./attempt.js";
import { withoutStack } from "../util/no-stack.js";

/** TLS: silence (replies owed, nothing read) after which a no-op nudges the server. */
export const NUDGE_MS = 10;

/** What the silence watch asks the connection to do. */
export const KEEP = 0;
export const NUDGE = 1;
export const HUNG = 2;

/** Tracks how long a connection has owed replies without reading a byte. */
export class SilenceWatch {
  /** Since when we have waited with no byte read; -1: restart at the next check. */
  waitingSince = -1;
  #readsSeen = 0;
  #nudgedAt = 0;
  #nudgeGap = NUDGE_MS;

  constructor(
    readonly socketTimeout: number,
    readonly tls: boolean,
  ) {}

  /** Starts a new wait (the connection went from idle to owing replies). */
  restart(): void {
    this.waitingSince = -1;
  }

  /** `reads`: the connection's read counter. Returns KEEP, NUDGE (a no-op is sent) or HUNG. */
  check(now: number, reads: number): number {
    if (this.waitingSince < 0 || reads !== this.#readsSeen) {
      this.#readsSeen = reads;
      this.waitingSince = now;
      this.#nudgeGap = NUDGE_MS;
      return KEEP;
    }
    const silent = now - this.waitingSince;
    if (
      this.tls &&
      now - Math.max(this.waitingSince, this.#nudgedAt) >= this.#nudgeGap &&
      silent < this.socketTimeout
    ) {
      this.#nudgedAt = now;
      this.#nudgeGap *= 2;
      return NUDGE;
    }
    return silent >= this.socketTimeout ? HUNG : KEEP;
  }
}

/**
 * A connection's earliest deadline, and its wake on the shared ticker while it has work: at that
 * deadline while it only waits (to connect, or for a flush), at every tick while it owes replies
 * (the silence watch needs a look each tick).
 */
export class DeadlineWatch {
  /** Lower bound of the earliest deadline among waiting attempts. */
  min = Number.POSITIVE_INFINITY;
  /** Has work: the connection is looked at until a tick finds it idle. */
  registered = false;
  readonly #wake: Wake;

  constructor(member: Tickable) {
    this.#wake = new Wake(member);
  }

  /** Keeps the earliest deadline and makes sure the ticker looks at the connection by then. */
  watch(deadline: number): void {
    this.registered = true;
    if (deadline < this.min) {
      this.min = deadline;
      wakeAt(this.#wake, deadline);
    }
  }

  /** Nothing waits now: a look at the next tick lets the connection leave the ticker. */
  idle(): void {
    this.min = Number.POSITIVE_INFINITY;
    wakeNextTick(this.#wake);
  }

  /** A look at the next tick: replies are owed from now on (see {@link SilenceWatch}), or a close waits. */
  soon(): void {
    wakeNextTick(this.#wake);
  }

  /**
   * After a tick's look: the next one, at the next tick while `everyTick` (replies owed, a close
   * waiting), else at the earliest deadline.
   */
  rearm(everyTick: boolean): void {
    if (!this.registered) return;
    if (everyTick || this.min === Number.POSITIVE_INFINITY) wakeNextTick(this.#wake);
    else wakeAt(this.#wake, this.min);
  }

  /** Off the ticker (nothing waits). */
  leave(): void {
    this.min = Number.POSITIVE_INFINITY;
    this.registered = false;
    cancelWake(this.#wake);
  }

  /** Fails what is past its deadline at `now` (see {@link expire}); true when a written attempt timed out. */
  expireDue(pending: Fifo<Attempt>, inflight: Fifo<Attempt>, now: number, label: string): boolean {
    if (now < this.min) return false;
    // Attempts sent while expiring (a sink's follow-up) lower it again through `watch`.
    this.min = Number.POSITIVE_INFINITY;
    const { min, timedOut } = expire(pending, inflight, now, label);
    if (min < this.min) this.min = min;
    return timedOut;
  }
}

/**
 * Fails every unsettled attempt of `pending` and `inflight` past its deadline. Returns the earliest
 * deadline left, and whether a written attempt timed out (a sign of a slow server).
 */
export function expire(
  pending: Fifo<Attempt>,
  inflight: Fifo<Attempt>,
  now: number,
  label: string,
): { min: number; timedOut: boolean } {
  let min = Number.POSITIVE_INFINITY;
  let dead = 0;
  for (let i = 0; i < pending.count; i++) {
    const a = pending.peekAt(i)!;
    if (a.state === SETTLED) dead++;
    else if (a.deadline <= now) {
      a.carrier = null; // never written: nothing to follow up on this connection
      a.fail(timeoutError(label, a, now, false));
      dead++;
    } else if (a.deadline < min) min = a.deadline;
  }
  // Drop settled attempts from the queue so they do not count against maxQueue.
  if (dead > 0 && dead * 4 >= pending.count) {
    const live = pending.toArray().filter((a) => a.state !== SETTLED);
    pending.clear();
    for (const a of live) pending.push(a);
  }
  let timedOut = false;
  for (let i = 0; i < inflight.count; i++) {
    const a = inflight.peekAt(i)!;
    if (a.state === SETTLED) continue;
    if (a.deadline <= now) {
      a.fail(timeoutError(label, a, now, true));
      timedOut = true;
    } else if (a.deadline < min) min = a.deadline;
  }
  return { min, timedOut };
}

function timeoutError(label: string, a: Attempt, now: number, written: boolean): TimeoutError {
  const late = Math.round(now - a.deadline);
  const why = written ? "written, no reply" : "not yet written";
  return withoutStack(
    () =>
      new TimeoutError(`request to ${label} timed out (${why}; ${late} ms past its deadline)`, {
        server: label,
      }),
  );
}
