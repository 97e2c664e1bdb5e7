/**
 * When connects start, in this process. A burst of calls over a fleet of hundreds of servers (the
 * first calls after start, a change of the list) would otherwise start every connect in the caller's
 * turn and complete them all in the next: each turn as long as all of them together, a stall for
 * every other request. So no connect starts in the turn that asked for it: connects start after that
 * turn's I/O (`setImmediate`), in waves of a bounded size, one wave per turn. The caller's own turn
 * stays as short as its calls, and each later turn carries one wave's starts and the previous wave's
 * completions. Only starts are counted: a connect that hangs (a black-holed address) holds nothing
 * back.
 */
import { TurnWaves } from "../util/turn-waves.js";

/** Connects started in one turn of the event loop, at most. */
export const CONNECTS_PER_TURN = 32;

const waves = new TurnWaves(CONNECTS_PER_TURN);

/** Runs `connect` in a later turn: the next one, or a later one when that one has its share already. */
export function whenConnectAllowed(connect: () => void): void {
  waves.later(connect);
}

/** For tests: connects waiting for a later turn. */
export function connectsWaiting(): number {
  return waves.waiting;
}
