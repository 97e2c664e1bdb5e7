/**
 * How many connects start in one turn of the event loop, in this process. A burst of calls over a
 * fleet of hundreds of servers (the first calls after start, a change of the list) would otherwise
 * start every connect in one turn and complete them all in another: each turn as long as all of them
 * together, a stall for every other request. Paced, they go in waves of a short turn each, and the
 * whole takes about as long. Only starts are counted: a connect that hangs (a black-holed address)
 * holds nothing back.
 */
import Denque from "denque";

/** Connects started in one turn of the event loop, at most. */
export const CONNECTS_PER_TURN = 64;

let startedThisTurn = 0;
let turnEnding = false;
const waiting = new Denque<() => void>();

/** Runs `connect` now, or in a later turn when this one has started its share already. */
export function whenConnectAllowed(connect: () => void): void {
  endTurnSoon();
  if (startedThisTurn < CONNECTS_PER_TURN) {
    startedThisTurn++;
    connect();
  } else waiting.push(connect);
}

/** After this turn's I/O (`setImmediate`), the count starts over and the next wave starts. */
function endTurnSoon(): void {
  if (turnEnding) return;
  turnEnding = true;
  setImmediate(nextTurn);
}

function nextTurn(): void {
  turnEnding = false;
  startedThisTurn = 0;
  while (waiting.length > 0 && startedThisTurn < CONNECTS_PER_TURN) {
    startedThisTurn++;
    waiting.shift()!();
  }
  // Connects started in this turn count against it: the count starts over after it too.
  if (startedThisTurn > 0) endTurnSoon();
}

/** For tests: connects waiting for a later turn. */
export function connectsWaiting(): number {
  return waiting.length;
}
