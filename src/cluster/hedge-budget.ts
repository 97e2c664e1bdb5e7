/**
 * How many hedges may be sent: a retry budget in the manner of Finagle's. Each read watched deposits
 * `share` of a hedge, each hedge withdraws one, and deposits count only for `window` ms; on top, a
 * reserve of `minPerSecond` hedges per second of the window lets a quiet client hedge at all. So in
 * any window, hedges ≤ `share` × reads + the reserve, and a stall can spend at once what the whole
 * window earned (a bucket capped at a fixed number of tokens could spend only that many).
 *
 * The window is kept as {@link SLOTS} slots of deposits less withdrawals; time moves one slot at a
 * time, dropping the oldest. No timer: the clock is read by the caller.
 */

/** Slots the window is cut into: the budget forgets a slot's worth at a time. */
const SLOTS = 10;

export class HedgeBudget {
  /** Deposits less withdrawals, per slot; `#at` is the current one. */
  readonly #slots = new Float64Array(SLOTS);
  #at = 0;
  /** When the current slot began (`performance.now()` clock). */
  #slotStart: number;
  /** Sum of the slots. */
  #sum = 0;
  readonly #slotMs: number;
  readonly #reserve: number;

  constructor(
    readonly share: number,
    windowMs: number,
    minPerSecond: number,
    now: number,
  ) {
    this.#slotMs = windowMs / SLOTS;
    this.#reserve = (minPerSecond * windowMs) / 1000;
    this.#slotStart = now;
  }

  /** Hedges that could be sent now. */
  available(now: number): number {
    this.#roll(now);
    return this.#reserve + this.#sum;
  }

  /** A read was watched at `now`: it earns `share` of a hedge. */
  deposit(now: number): void {
    this.#roll(now);
    this.#slots[this.#at]! += this.share;
    this.#sum += this.share;
  }

  /** Takes one hedge at `now`; false (nothing taken) when the window has none left. */
  withdraw(now: number): boolean {
    if (this.available(now) < 1) return false;
    this.#slots[this.#at]! -= 1;
    this.#sum -= 1;
    return true;
  }

  /** Moves the window up to `now`, forgetting the slots that left it. */
  #roll(now: number): void {
    const elapsed = now - this.#slotStart;
    if (elapsed < this.#slotMs) return;
    const steps = Math.min(SLOTS, Math.floor(elapsed / this.#slotMs));
    for (let i = 0; i < steps; i++) {
      this.#at = (this.#at + 1) % SLOTS;
      this.#sum -= this.#slots[this.#at]!;
      this.#slots[this.#at] = 0;
    }
    this.#slotStart += Math.floor(elapsed / this.#slotMs) * this.#slotMs;
    // Rounding drift of the running sum: recompute it when the window is empty again.
    if (steps === SLOTS) this.#sum = 0;
  }
}
