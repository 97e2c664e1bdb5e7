/**
 * The time this process's event loop was seen blocked, for judging a call's lateness fairly.
 *
 * A call cannot settle while the loop is blocked: by our own code, a garbage collection, or the whole
 * process being descheduled while other processes keep the machine's cores busy. A 1 ms timer notes
 * every gap between two of its runs beyond its period; `during(t0, t1)` sums the part of those gaps
 * inside `[t0, t1]`. A call that settled late by no more than the stall measured around it (plus
 * {@link STALL_SLACK}) did not miss its deadline: its timer could not fire any earlier.
 */

/** What a timer may add without any stall: the client's deadline tick and a timer's own lateness. */
export const STALL_SLACK = 20;

/**
 * A gap shorter than this past the period is not noted. Every gap counts: a process starved of CPU
 * (a busy core beside it) shows as many short gaps rather than one long one, and they add up.
 */
const JITTER = 0;

export class LoopStalls {
  /** Start and end of each gap seen (`performance.now()` clock), in order. */
  readonly #starts: number[] = [];
  readonly #ends: number[] = [];
  #total = 0;
  #last = performance.now();
  #longest = 0;
  readonly #timer: NodeJS.Timeout;

  constructor() {
    this.#timer = setInterval(() => this.#tick(), 1);
  }

  #tick(): void {
    const now = performance.now();
    const gap = now - this.#last - 1;
    if (gap > JITTER) {
      this.#starts.push(now - gap);
      this.#ends.push(now);
      this.#total += gap;
      this.#longest = Math.max(this.#longest, gap);
    }
    this.#last = now;
  }

  /**
   * Notes that the loop was blocked from `since` until now (a synchronous stretch of the test's own,
   * which the timer cannot see end until its next run).
   */
  blockedSince(since: number): void {
    const now = performance.now();
    if (now - since <= JITTER) return;
    this.#starts.push(since);
    this.#ends.push(now);
    this.#total += now - since;
    this.#longest = Math.max(this.#longest, now - since);
    this.#last = now;
  }

  /** The stalled time inside `[t0, t1]`, ms. */
  during(t0: number, t1: number = performance.now()): number {
    this.#tick(); // a gap still open when asked counts too
    let total = 0;
    for (let i = this.#firstEndingAfter(t0); i < this.#ends.length && this.#starts[i]! < t1; i++) {
      total += Math.min(this.#ends[i]!, t1) - Math.max(this.#starts[i]!, t0);
    }
    return total;
  }

  /** The longest single stall that overlaps `[t0, t1]`, ms: what can time out an attempt on a healthy server. */
  longestIn(t0: number, t1: number = performance.now()): number {
    this.#tick();
    let longest = 0;
    for (let i = this.#firstEndingAfter(t0); i < this.#ends.length && this.#starts[i]! < t1; i++) {
      longest = Math.max(longest, this.#ends[i]! - this.#starts[i]!);
    }
    return longest;
  }

  /** The index of the first gap that ends after `t`. */
  #firstEndingAfter(t: number): number {
    const ends = this.#ends;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ends[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** All the stalled time seen, and the longest single stall, ms. */
  get total(): number {
    return this.#total;
  }
  get longest(): number {
    return this.#longest;
  }

  /**
   * Why a call that took `ms` from `t0` against a limit of `limit` ms was late, or null when it was
   * not: later than the stall seen around it allows. The message gives both figures.
   */
  lateness(what: string, t0: number, ms: number, limit: number): string | null {
    const late = ms - limit;
    if (late <= STALL_SLACK) return null;
    const stalled = this.during(t0, t0 + ms);
    if (late <= stalled + STALL_SLACK) return null;
    return `${what} took ${ms.toFixed(0)} ms against a ${limit} ms limit: ${late.toFixed(0)} ms late, while the event loop was stalled ${stalled.toFixed(0)} ms around it`;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
