/**
 * Notices when this process did not run for a while: frozen (SIGSTOP, an AWS Lambda sandbox between
 * invocations, a laptop asleep) or an event loop blocked. Meanwhile a server may have closed or
 * dropped idle connections; a FIN already received is read before a write only if the event loop
 * gets to it first, and a connection dropped silently answers nothing at all. So a connection that
 * sat idle through such a gap gets a new socket before it is written to again (`connection.ts`).
 *
 * One unref'd timer beats every {@link BEAT_MS} while open connections hold the watch. A beat that
 * comes {@link GAP_MS} late marks a gap; a gap still under way (no beat yet since the thaw: the first
 * callbacks after a thaw often run before any timer) is seen from the time of the last beat.
 */

/** Period of the beat, ms. */
export const BEAT_MS = 1000;
/** A beat this much later than it was due means the process did not run (a busy event loop is late by far less). */
export const GAP_MS = 2000;

let holders = 0;
let timer: NodeJS.Timeout | undefined;
let lastBeat = 0;
/** When the latest gap seen by a beat ended (clock of `performance.now()`). */
let lastGapEnd = Number.NEGATIVE_INFINITY;

function beat(): void {
  const now = performance.now();
  if (now - lastBeat > BEAT_MS + GAP_MS) lastGapEnd = now;
  lastBeat = now;
}

/** Starts the watch for one more holder (an open connection). */
export function holdFreezeWatch(): void {
  if (holders++ > 0) return;
  lastBeat = performance.now();
  timer = setInterval(beat, BEAT_MS);
  timer.unref();
}

/** Releases one holder; the watch stops with the last. */
export function releaseFreezeWatch(): void {
  if (holders === 0 || --holders > 0) return;
  clearInterval(timer);
  timer = undefined;
}

/**
 * Whether the process stopped running for a while after `since` (both on the `performance.now()`
 * clock): a gap a beat saw after it, or one under way now. Only meaningful while the watch is held.
 */
export function frozeSince(since: number, now: number): boolean {
  if (timer === undefined) return false;
  return lastGapEnd > since || now - Math.max(lastBeat, since) > BEAT_MS + GAP_MS;
}
