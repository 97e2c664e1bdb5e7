/**
 * Virtual time for the simulator's process. `install()` replaces the timer functions, `Date.now`,
 * `performance.now` and `Math.random` (seeded) with ones driven by this clock, so the whole client —
 * generic-pool's timers included — runs in virtual time; `advance(ms)` then runs every timer due
 * in that span, in time order, letting promise jobs settle between two timers. Nothing waits for
 * real time: a history of seconds runs in milliseconds, and the same seed replays it exactly.
 *
 * It is process-wide, as the globals are: the simulator runs in its own process (a test file, or
 * `npm run sim`).
 */

interface Task {
  at: number;
  seq: number;
  fn: (...args: unknown[]) => void;
  args: unknown[];
  /** Period, for intervals; 0 for one-shot tasks. */
  every: number;
  cancelled: boolean;
  handle: VirtualTimer;
}

/** What the virtual `setTimeout` returns: enough of Node's `Timeout` for the client and its deps. */
export class VirtualTimer {
  readonly #clock: VirtualClock;
  task: Task | null = null;
  constructor(clock: VirtualClock) {
    this.#clock = clock;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  refresh(): this {
    this.#clock.refresh(this);
    return this;
  }
  close(): this {
    this.#clock.clear(this);
    return this;
  }
  [Symbol.toPrimitive](): number {
    return this.task?.seq ?? -1;
  }
}

const real = {
  setImmediate: globalThis.setImmediate,
};

/** Base of the virtual wall clock (a fixed date, so TTLs and expiry times replay). */
const EPOCH = 1_800_000_000_000;

export class VirtualClock {
  now = 0;
  #seq = 0;
  #heap: Task[] = [];
  #random: () => number = Math.random;

  /** A seeded generator (mulberry32) for `Math.random`. */
  seed(seed: number): void {
    let a = seed >>> 0;
    this.#random = () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** Installs this clock as the process's timers, `Date.now`, `performance.now` and `Math.random`. */
  install(): void {
    const g = globalThis as Record<string, unknown>;
    const schedule =
      (every: boolean) =>
      (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) =>
        this.schedule(fn, Math.max(every ? 1 : 0, Number(ms) || 0), args, every);
    g.setTimeout = schedule(false);
    g.setInterval = schedule(true);
    g.setImmediate = (fn: (...a: unknown[]) => void, ...args: unknown[]) => this.schedule(fn, 0, args, false);
    const clear = (t: unknown) => {
      if (t instanceof VirtualTimer) this.clear(t);
    };
    g.clearTimeout = clear;
    g.clearInterval = clear;
    g.clearImmediate = clear;
    Date.now = () => EPOCH + Math.floor(this.now);
    performance.now = () => this.now;
    Math.random = () => this.#random();
  }

  schedule(fn: (...a: unknown[]) => void, ms: number, args: unknown[], every: boolean): VirtualTimer {
    const handle = new VirtualTimer(this);
    const task: Task = {
      at: this.now + ms,
      seq: this.#seq++,
      fn,
      args,
      every: every ? ms : 0,
      cancelled: false,
      handle,
    };
    handle.task = task;
    this.#push(task);
    return handle;
  }

  clear(handle: VirtualTimer): void {
    if (handle.task !== null) handle.task.cancelled = true;
    handle.task = null;
  }

  refresh(handle: VirtualTimer): void {
    const old = handle.task;
    if (old === null) return;
    const delay = old.every > 0 ? old.every : Math.max(0, old.at - this.now);
    old.cancelled = true;
    const task = { ...old, at: this.now + delay, seq: this.#seq++, cancelled: false };
    handle.task = task;
    this.#push(task);
  }

  /** Runs every task due within `ms` of virtual time from now, then sets the clock to the end. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    await settleJobs();
    for (;;) {
      const next = this.#peek();
      if (next === undefined || next.at > end) break;
      this.#pop();
      this.now = Math.max(this.now, next.at);
      if (next.every > 0) {
        next.at = this.now + next.every;
        next.seq = this.#seq++;
        this.#push(next);
      } else next.handle.task = null;
      next.fn(...next.args);
      await settleJobs();
    }
    this.now = end;
  }

  #peek(): Task | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0];
  }

  #push(t: Task): void {
    const h = this.#heap;
    h.push(t);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): Task | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Task, b: Task): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Lets every promise job and `nextTick` queued so far run (a real turn of the event loop). */
function settleJobs(): Promise<void> {
  return new Promise((resolve) => real.setImmediate(resolve));
}
