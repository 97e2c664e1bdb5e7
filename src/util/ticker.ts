/**
 * One shared, unref'd, coarse timer for request deadlines and hung-server detection.
 *
 * Requests carry an absolute `deadline` (ms, `performance.now()` clock). Nothing arms a timer per
 * request: each connection that has requests waiting registers itself here, and on every tick the
 * ticker calls its `onTick(now)`. A connection keeps a lower bound of its earliest deadline, so a
 * tick costs one comparison until that moment comes (see `Connection#onTick`).
 *
 *     connections with work ──register──▶ ┌────────────┐ every TICK_MS (only while non-empty)
 *                        ◀──unregister── │  Set<Tick> │ ──▶ onTick(now) on each
 *                                         └────────────┘
 *
 * The timer is armed only while the set is non-empty and is `unref()`ed: a pending request's socket
 * keeps the process alive, never this timer.
 */

/** Something that wants a callback on each tick while it has work. */
export interface Tickable {
  onTick(now: number): void;
}

/** Tick period in ms: the resolution of deadlines (a request times out within this much of its deadline). */
export const TICK_MS = 5;

/** A tick this much later than the one before means the process did not run meanwhile (a stall). */
const STALL_MS = 4 * TICK_MS;

const members = new Set<Tickable>();
let timer: NodeJS.Timeout | undefined;
let lastTick = 0;

function tick(): void {
  const now = performance.now();
  const stalled = now - lastTick > STALL_MS;
  lastTick = now;
  // After a stall (a long turn, a GC pause, a busy machine) the replies that arrived meanwhile are read
  // first: the I/O phase runs before immediates, so a request whose reply came meanwhile gets it, not a time-out.
  if (stalled) setImmediate(checkDeadlines);
  else checkDeadlines();
}

function checkDeadlines(): void {
  const now = performance.now();
  for (const m of members) {
    try {
      m.onTick(now);
    } catch {
      // A member's failure must not stop the others' deadlines; members settle their own errors.
    }
  }
  if (members.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
    lastTick = 0;
  }
}

/** Start calling `m.onTick` every {@link TICK_MS} ms. Idempotent. */
export function registerTick(m: Tickable): void {
  members.add(m);
  if (timer === undefined) {
    timer = setInterval(tick, TICK_MS);
    timer.unref();
    lastTick = performance.now(); // a first tick that comes late is a stall too
  }
}

/** Stop calling `m.onTick`. The timer stops at its next tick when nothing is left. */
export function unregisterTick(m: Tickable): void {
  members.delete(m);
}

/** For tests: whether the shared timer is armed. */
export function tickerActive(): boolean {
  return timer !== undefined;
}
