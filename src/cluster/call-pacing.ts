/**
 * How many calls are sent in one turn of the event loop. Sending a call (routing it, making its
 * attempt, queueing it on a connection) costs a few microseconds once the code is optimised, and many
 * times that in a process that has just started. A caller that makes thousands of calls in one loop
 * — a burst over a large fleet at start — would hold the event loop for all of that, a stall for
 * every other request and timer. So once a synchronous run of calls has spent its share of time,
 * the calls that follow wait, in order, for the turns after it, each turn sending its share after
 * its I/O (`setImmediate`). A waiting call keeps the deadline it had when it was made.
 *
 *   caller's run ─▶ sent now ... share spent ─▶ waiting (FIFO per client) ─▶ a share per later turn
 *
 * A run is what runs before the next microtask: the caller's loop, not the whole turn. Runs of a
 * few calls are never measured; the first call of a run costs a counter and a microtask.
 */
import Denque from "denque";
import { TimeoutError } from "../errors.js";
import { withoutStack } from "../util/no-stack.js";
import type { Call } from "./call.js";

/** Time a synchronous run of calls, and each later turn, may spend sending calls, ms. */
export const SEND_SHARE_MS = 5;
/** Calls between two looks at the clock. */
const MEASURE_EVERY = 32;

let runCalls = 0;
let runStart = 0;
let runOver = false;
let runEndQueued = false;
/** Set while a later turn sends waiting calls: those are not held back again. */
let sendingWaiting = false;

const endRun = (): void => {
  runCalls = 0;
  runStart = 0;
  runOver = false;
  runEndQueued = false;
};

/** Whether this synchronous run of calls has spent its share (see {@link SEND_SHARE_MS}). */
function runSpent(): boolean {
  if (runOver) return true;
  if (!runEndQueued) {
    runEndQueued = true;
    queueMicrotask(endRun);
  }
  if (++runCalls % MEASURE_EVERY !== 0) return false;
  const now = performance.now();
  if (runStart === 0) runStart = now;
  else runOver = now - runStart > SEND_SHARE_MS;
  return runOver;
}

/** The calls of one client that wait for a later turn; `send` sends one. */
export class CallPacer {
  readonly #waiting = new Denque<Call>();
  readonly #send: (call: Call) => unknown;

  constructor(send: (call: Call) => unknown) {
    this.#send = send;
  }

  /** Calls waiting for a later turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Whether `call` waits for a later turn (it then does, and is sent by this pacer): calls of this
   * client wait already, or this run has spent its share. Its deadline runs from now.
   */
  holds(call: Call): boolean {
    if (sendingWaiting || (this.#waiting.length === 0 && !runSpent())) return false;
    call.paced = true;
    call.endsAt();
    if (this.#waiting.push(call) === 1) pacers.push(this);
    scheduleTurn();
    return true;
  }

  /** Sends every waiting call now (the client closes: what it took goes out before its sockets close). */
  flush(): void {
    sendingWaiting = true;
    try {
      while (this.#waiting.length > 0) this.#sendIfWaiting(this.#waiting.shift()!);
    } finally {
      sendingWaiting = false;
    }
  }

  /** A call aborted while it waited is not sent. */
  #sendIfWaiting(call: Call): void {
    if (!call.settled) this.#send(call);
  }

  /** Sends waiting calls until `until` (performance.now() clock); whether some are left. */
  sendUntil(until: number): boolean {
    let n = 0;
    while (this.#waiting.length > 0) {
      this.#sendIfWaiting(this.#waiting.shift()!);
      if (++n % 8 === 0 && performance.now() > until) break;
    }
    return this.#waiting.length > 0;
  }
}

/** The error of a call whose deadline passed while it waited for a later turn: it was not sent. */
export function heldTooLong(call: Call): TimeoutError {
  return withoutStack(
    () =>
      new TimeoutError(
        `the request did not complete within ${call.timeout} ms: it waited for a later turn of the event loop until its deadline passed (it was not sent; a run of calls longer than ${SEND_SHARE_MS} ms goes out over several turns)`,
      ),
  );
}

/** Pacers with waiting calls, in the order they first held one back. */
const pacers = new Denque<CallPacer>();
let turnScheduled = false;

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(sendShare);
}

/** One later turn's share: waiting calls of each pacer in turn, until the share is spent. */
function sendShare(): void {
  const until = performance.now() + SEND_SHARE_MS;
  sendingWaiting = true;
  try {
    for (let n = pacers.length; n > 0 && performance.now() <= until; n--) {
      const pacer = pacers.shift()!;
      if (pacer.sendUntil(until)) pacers.push(pacer);
    }
  } finally {
    sendingWaiting = false;
    turnScheduled = false;
    if (pacers.length > 0) scheduleTurn();
  }
}
