/**
 * Hedged reads ("The Tail at Scale"): a read whose answer has not come within `after` is also sent
 * to the key's next replica, and the first answer wins. `after` is fixed, or `"p95"`: the 95th
 * percentile of that server's recent read latencies. A budget over a time window keeps hedges under
 * `maxExtraLoad` of reads (see `hedge-budget.ts`): a slow moment can spend what the window earned, a
 * fleet that is slow all over is not hit twice as hard.
 *
 * No timer per read: watched reads wait in one queue per server, in the order they were sent, and
 * one shared timer is armed for the earliest of the queues' heads.
 */
import Denque from "denque";
import { SETTLED } from "../connection/attempt.js";
import type { CallAttempt } from "./call.js";
import { HedgeBudget } from "./hedge-budget.js";
import type { Freshness } from "./freshness/freshness.js";
import type { Membership } from "./membership.js";
import type { Server } from "./server.js";

/** Hedging settings (resolved by the client). */
export interface HedgeOptions {
  /** ms before a read is hedged, or `"p95"` of its server's recent read latencies. */
  after: number | "p95";
  /** Most hedges, as a share of reads. */
  maxExtraLoad: number;
  /** How long a read's share of a hedge may be saved up, ms. */
  budgetWindow: number;
  /** Hedges allowed per second of the window on top of the reads' shares (a quiet client's). */
  minPerSecond: number;
}
/** Latencies kept per server for its percentile, and how often (in samples) it is recomputed. */
const SAMPLES = 256;
const RECOMPUTE_EVERY = 32;

/** One server's recent read latencies and their 95th percentile (they leave with the server: a WeakMap). */
export class Latencies {
  readonly #samples = new Float64Array(SAMPLES);
  #count = 0;
  /** The percentile, ms; Infinity until enough samples (no hedge before). */
  p95 = Number.POSITIVE_INFINITY;

  add(ms: number): void {
    this.#samples[this.#count % SAMPLES] = ms;
    this.#count++;
    if (this.#count % RECOMPUTE_EVERY !== 0) return;
    const n = Math.min(this.#count, SAMPLES);
    const sorted = this.#samples.slice(0, n).sort();
    this.p95 = sorted[Math.min(n - 1, Math.floor(n * 0.95))]!;
  }
}

/** The counts of a client without hedging. */
export const NO_HEDGES: Hedger["counts"] = { sent: 0, won: 0, budgetExhausted: 0 };

export class Hedger {
  /** Hedges sent, hedges whose answer came first, and reads not hedged for want of budget. */
  readonly counts = { sent: 0, won: 0, budgetExhausted: 0 };
  readonly #o: HedgeOptions;
  readonly #fire: (a: CallAttempt) => boolean;
  readonly #budget: HedgeBudget;
  readonly #waiting = new Map<Server, Denque<CallAttempt>>();
  /** Each server's recent read latencies, with `after: "p95"`. */
  readonly #latencies = new WeakMap<Server, Latencies>();
  #timer: NodeJS.Timeout | null = null;
  #timerAt = 0;
  #closed = false;

  /** `fire(a)` sends the hedge of `a`; false when there is nowhere to send it (no budget spent). */
  constructor(o: HedgeOptions, fire: (a: CallAttempt) => boolean) {
    this.#o = o;
    this.#fire = fire;
    this.#budget = new HedgeBudget(o.maxExtraLoad, o.budgetWindow, o.minPerSecond, performance.now());
  }

  /** A first try of a read was sent to its server: hedge it if it has not answered by its time. */
  watch(a: CallAttempt): void {
    const server = a.target;
    if (this.#closed || server === undefined) return;
    const now = performance.now();
    this.#budget.deposit(now);
    const after = this.#o.after === "p95" ? this.#latencyOf(server).p95 : this.#o.after;
    if (after >= a.timeout) return; // it fails over before (and p95 is Infinity until it is known)
    a.hedgeAt = now + after;
    let queue = this.#waiting.get(server);
    if (queue === undefined) {
      queue = new Denque<CallAttempt>();
      this.#waiting.set(server, queue);
    }
    queue.push(a);
    this.#arm(a.hedgeAt);
  }

  /** Whether read latencies are sampled (`after: "p95"`). */
  get sampling(): boolean {
    return this.#o.after === "p95";
  }

  /** A read answered `server` in `ms` (or, for a hedged read that lost, had taken that long at least). */
  sample(server: Server, ms: number): void {
    this.#latencyOf(server).add(ms);
  }

  /**
   * `winner`, one of a hedged pair, answered first: the other is given up on (never sent, or its
   * reply dropped in its FIFO slot, as a timed-out read's is — not a failure of its server). Its
   * time so far counts in its server's latencies, as a lower bound.
   */
  won(winner: CallAttempt): void {
    const loser = winner.rival!;
    winner.rival = null;
    loser.rival = null;
    if (winner.isHedge) this.counts.won++;
    if (loser.state === SETTLED) return;
    if (this.sampling && loser.queuedAt > 0 && loser.target !== undefined) {
      this.sample(loser.target, performance.now() - loser.queuedAt);
    }
    loser.abandon();
  }

  /**
   * `failed`, one of a hedged pair, failed: true when the other is still under way and carries the
   * read on alone (nothing else to do); false when the failure is the read's to handle.
   */
  rivalCarriesOn(failed: CallAttempt): boolean {
    const other = failed.rival!;
    failed.rival = null;
    other.rival = null;
    return other.state !== SETTLED && !failed.call.settled;
  }

  /** Stops the timer; reads still waiting are not hedged. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#waiting.clear();
  }

  #latencyOf(server: Server): Latencies {
    let latencies = this.#latencies.get(server);
    if (latencies === undefined) {
      latencies = new Latencies();
      this.#latencies.set(server, latencies);
    }
    return latencies;
  }

  #arm(at: number): void {
    if (this.#timer !== null && this.#timerAt <= at) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#check, Math.max(0, at - performance.now()));
    this.#timer.unref();
  }

  readonly #check = (): void => {
    this.#timer = null;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [server, queue] of this.#waiting) {
      for (let a = queue.peekFront(); a !== undefined; a = queue.peekFront()) {
        if (a.state === SETTLED || a.call.settled) {
          queue.shift();
          continue;
        }
        if (a.hedgeAt > now) {
          next = Math.min(next, a.hedgeAt);
          break;
        }
        queue.shift();
        if (this.#budget.available(now) < 1) this.counts.budgetExhausted++;
        else if (this.#fire(a)) {
          this.#budget.withdraw(now);
          this.counts.sent++;
        }
      }
      if (queue.isEmpty()) this.#waiting.delete(server);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  };
}

/**
 * Where the hedge of `a` goes: the next replica (not tried yet, up) of its key — of every key of a
 * batch share, which must be the same server (otherwise no hedge). Not a server that may hold a
 * stale copy of one of them while another is away: its miss would win the race.
 */
export function hedgeTarget(
  a: CallAttempt,
  m: Membership,
  freshness: Freshness,
  tried: Server[],
): Server | undefined {
  const call = a.call;
  const keys = call.keys;
  let next: Server | undefined;
  if (keys === null || call.routingKey !== null) next = m.readTarget(call.routingKey!, tried);
  else {
    const n = a.indices === null ? keys.length : a.indices.length;
    for (let j = 0; j < n; j++) {
      const s = m.readTarget(keys[a.indices === null ? j : a.indices[j]!]!, tried);
      if (s === undefined || (next !== undefined && s !== next)) return undefined;
      next = s;
    }
  }
  return next !== undefined && m.away !== 0 && freshness.hasAny(next.label) ? undefined : next;
}
