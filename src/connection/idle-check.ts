/**
 * Whether a connection's socket can be trusted after it sat idle. A server may close or drop an idle
 * connection (its idle timeout, a NAT or a load balancer forgetting it) and a process may be frozen
 * meanwhile (see `freeze-watch.ts`); a write to such a socket fails requests that never had to.
 *
 * - Idle past {@link IDLE_CHECK_MS} (or `maxIdle`, when shorter): the first write waits for the
 *   event loop's I/O callbacks, so a FIN already received is read before anything is written.
 * - Idle past `maxIdle`, or through a freeze of the process: the socket is replaced before the write.
 */
import { frozeSince, holdFreezeWatch, releaseFreezeWatch } from "../util/freeze-watch.js";

/** A connection idle longer than this, ms, is checked before it is written to again. */
export const IDLE_CHECK_MS = 1000;

export class IdleCheck {
  /** Clock reading of the last send that found the connection idle or not: the start of any idle span. */
  #lastUsed = 0;
  /** The socket is ready and holds the freeze watch. */
  #watching = false;
  readonly #maxIdle: number;
  /** Idle spans up to this long need no check. */
  readonly #checkAfter: number;

  constructor(maxIdle: number) {
    this.#maxIdle = maxIdle;
    this.#checkAfter = maxIdle > 0 ? Math.min(maxIdle, IDLE_CHECK_MS) : IDLE_CHECK_MS;
  }

  /**
   * Notes a send at `now` on a connection that owes `owed` replies. Returns how long it had been idle
   * when that calls for a check before writing, else 0.
   */
  used(now: number, owed: number): number {
    const idleFor = owed === 0 ? now - this.#lastUsed : 0;
    this.#lastUsed = now;
    return idleFor > this.#checkAfter ? idleFor : 0;
  }

  /** The socket, idle for `idleFor` ms until `now`, should be replaced before the next write. */
  stale(idleFor: number, now: number): boolean {
    return (this.#maxIdle > 0 && idleFor > this.#maxIdle) || frozeSince(now - idleFor, now);
  }

  /** A ready socket watches for freezes of the process; `false` when it is gone. */
  watch(on: boolean): void {
    if (on === this.#watching) return;
    this.#watching = on;
    if (on) holdFreezeWatch();
    else releaseFreezeWatch();
  }
}
