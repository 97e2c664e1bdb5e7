/**
 * One shared, unref'd, coarse timer for request deadlines and hung-server detection.
 *
 * Requests carry an absolute `deadline` (ms, `performance.now()` clock). Nothing arms a timer per
 * request: a connection with requests waiting files a {@link Wake} for the moment it next needs a
 * look (its earliest deadline; every tick while it owes replies), and the ticker calls its
 * `onTick(now)` then. Wakes are filed in slots of {@link TICK_MS}, so a tick costs what is due, not
 * what is registered: a fleet of a thousand connections waiting for replies or a connect costs one
 * visit per connection per deadline, not one per tick.
 *
 *     wakeAt(wake, t) ─▶ slot ⌊t / TICK_MS⌋ ─▶ ┌──────────────────────┐  each TICK_MS, while a wake is filed:
 *                                            │ Map<slot, Set<Wake>> │ ─▶ onTick(now) of each slot ≤ now
 *     cancelWake(wake) ── (leaves its slot) ─▶ └──────────────────────┘
 *
 * A wake is visited in the tick of its slot, up to a tick before its moment: the member checks the
 * time itself and files again. The timer runs only while a wake is filed and is `unref()`ed: a
 * pending request's socket keeps the process alive, never this timer.
 */

/** Something that wants a callback when its wake comes. */
export interface Tickable {
  onTick(now: number): void;
}

/** Tick period in ms: the resolution of deadlines (a request times out within this much of its deadline). */
export const TICK_MS = 5;

/** A tick this much later than the one before means the process did not run meanwhile (a stall). */
const STALL_MS = 4 * TICK_MS;

/** A member's place on the ticker: the slot it is filed under, or none. */
export class Wake {
  /** Slot number (time ÷ {@link TICK_MS}, rounded down), or -1 when not filed. */
  slot = -1;
  constructor(readonly member: Tickable) {}
}

/** Filed wakes by slot. A wake filed again, or cancelled, leaves its old slot. */
const slots = new Map<number, Set<Wake>>();
let filed = 0;
/** Slots up to this one have been visited. */
let doneThrough = 0;
let timer: NodeJS.Timeout | undefined;
let lastTick = 0;

function tick(): void {
  const now = performance.now();
  const stalled = now - lastTick > STALL_MS;
  lastTick = now;
  // After a stall (a long turn, a GC pause, a busy machine) the replies that arrived meanwhile are read
  // first: the I/O phase runs before immediates, so a request whose reply came meanwhile gets it, not a time-out.
  if (stalled) setImmediate(visitDue);
  else visitDue();
}

function visitDue(): void {
  if (timer === undefined) return;
  const now = performance.now();
  // At least one slot a tick: ticks come a little early at times, and "the next tick" must be the next.
  const through = Math.max(Math.floor(now / TICK_MS), doneThrough + 1);
  const due = dueSlots(through);
  // Wakes filed while visiting go to the next tick at the earliest.
  doneThrough = through;
  for (const s of due) {
    const wakes = slots.get(s)!;
    slots.delete(s);
    for (const w of wakes) {
      if (w.slot !== s) continue; // cancelled by an earlier member's visit
      w.slot = -1;
      filed--;
      try {
        w.member.onTick(now);
      } catch {
        // A member's failure must not stop the others' deadlines; members settle their own errors.
        // It may not have filed its next wake: it gets another look at the next tick.
        wakeNextTick(w);
      }
    }
  }
  if (filed === 0) {
    clearInterval(timer);
    timer = undefined;
  }
}

/** Slots with entries up to `through`, in order. */
function dueSlots(through: number): number[] {
  const due: number[] = [];
  if (through - doneThrough <= slots.size) {
    for (let s = doneThrough + 1; s <= through; s++) if (slots.has(s)) due.push(s);
    return due;
  }
  // After a long stall, fewer slots are filed than have passed.
  for (const s of slots.keys()) if (s <= through) due.push(s);
  return due.sort((a, b) => a - b);
}

/**
 * Calls `w.member.onTick` at the first tick at or after `at` (up to a tick early, or a few: each
 * tick visits at least one slot, so ticks that come a little early put the ticker ahead of the
 * clock), unless it is already filed for earlier. A moment already past, or not a number, means the
 * next tick.
 */
export function wakeAt(w: Wake, at: number): void {
  if (at === Number.POSITIVE_INFINITY) return;
  if (timer === undefined) arm();
  let s = Math.floor(at / TICK_MS);
  if (!(s > doneThrough)) s = doneThrough + 1;
  if (w.slot !== -1) {
    if (w.slot <= s) return;
    unfile(w);
  }
  filed++;
  w.slot = s;
  const wakes = slots.get(s);
  if (wakes === undefined) slots.set(s, new Set([w]));
  else wakes.add(w);
}

/** {@link wakeAt} the next tick. */
export function wakeNextTick(w: Wake): void {
  wakeAt(w, Number.NEGATIVE_INFINITY);
}

/** Unfiles `w`. The timer stops at its next tick when nothing is filed. */
export function cancelWake(w: Wake): void {
  if (w.slot !== -1) unfile(w);
}

function unfile(w: Wake): void {
  const wakes = slots.get(w.slot);
  if (wakes !== undefined) {
    wakes.delete(w);
    if (wakes.size === 0) slots.delete(w.slot);
  }
  w.slot = -1;
  filed--;
}

function arm(): void {
  const now = performance.now();
  timer = setInterval(tick, TICK_MS);
  timer.unref();
  lastTick = now; // a first tick that comes late is a stall too
  doneThrough = Math.floor(now / TICK_MS) - 1;
}

/** For tests: whether the shared timer is armed. */
export function tickerActive(): boolean {
  return timer !== undefined;
}

/** For tests: slots that hold a filed wake (a wake filed again leaves its old slot). */
export function slotsInUse(): number {
  return slots.size;
}
