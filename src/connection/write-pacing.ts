/**
 * When connections write what was sent to them, in this process. A burst of calls over hundreds of
 * connected servers would otherwise write to every one of them in the turn of the event loop that
 * sent the calls (or all in the next one): a system call each, the turn as long as all of them
 * together, a stall for every other request and timer. So the writes asked for in one turn go out
 * as `Pipeline.schedule` says up to {@link FLUSHES_PER_TURN}; past that they wait for the turn's I/O
 * (`setImmediate`) and go out a share per turn, in the order asked, each turn also reading the
 * replies of the one before. A client of a few servers never comes near the bound.
 */
import { TurnWaves } from "../util/turn-waves.js";

/** Connections that write in one turn of the event loop, at most, before the rest wait for a later one. */
export const FLUSHES_PER_TURN = 64;

/**
 * From this many writes asked for, the count starts again from zero once the turn's immediates run.
 * Below it, the count runs on over turns: a client of a few connections, which asks for a write or
 * two a turn, then arms that immediate only every few turns, not every turn. Writes counted from
 * earlier turns only make the share of the turn that reaches it smaller.
 */
const RESET_FROM = 16;

/** Writes asked for, counted from zero again after the turn in which they reached {@link RESET_FROM}. */
let asked = 0;
const waves = new TurnWaves(FLUSHES_PER_TURN);

/**
 * Runs `flush` soon (`queueMicrotask`: the current callback's promises first) or after the turn's
 * I/O (`setImmediate`) — or, past this turn's share, in a later turn.
 */
export function scheduleFlush(flush: () => void, soon: boolean): void {
  if (++asked === RESET_FROM) setImmediate(turnEnded);
  if (asked <= FLUSHES_PER_TURN) {
    if (soon) queueMicrotask(flush);
    else setImmediate(flush);
    return;
  }
  waves.later(flush);
}

function turnEnded(): void {
  asked = 0;
}

/** For tests: writes waiting for a later turn. */
export function flushesWaiting(): number {
  return waves.waiting;
}
