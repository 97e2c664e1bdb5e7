/**
 * Calls made before a client's server list is first known (its DNS names or its discovery endpoint
 * have not answered yet) wait for it — each within its own deadline — rather than fail for want of a
 * server.
 */
import { TimeoutError } from "../errors.js";
import type { Call } from "./call.js";

export class StartGate {
  /** The first server list, while calls wait for it; null once it is known. */
  waiting: Promise<void> | null = null;

  /** Calls wait until `first` settles. */
  waitFor(first: Promise<void>): void {
    const waiting = first
      .catch(() => undefined)
      .finally(() => {
        if (this.waiting === waiting) this.waiting = null;
      });
    this.waiting = waiting;
  }

  /** Holds `call` until the list is known, then `execute`s it (see {@link holdCall}). */
  hold(call: Call, execute: (call: Call) => unknown): Promise<unknown> {
    return holdCall(call, this.waiting!, execute, "the server list's first DNS or discovery answer");
  }
}

/**
 * Holds `call` until `waiting` settles, then `execute`s it — unless it settled meanwhile (aborted).
 * Its deadline counts from now: a timer fails it then, whether it is still held or under way.
 */
export function holdCall(
  call: Call,
  waiting: Promise<unknown>,
  execute: (call: Call) => unknown,
  waitedFor: string,
): Promise<unknown> {
  const timer = setTimeout(
    () =>
      call.fail(
        new TimeoutError(
          `the request did not complete within ${call.timeout} ms (it waited for ${waitedFor})`,
        ),
      ),
    Math.max(0, call.endsAt() - performance.now()),
  );
  const clear = () => clearTimeout(timer);
  call.promise.then(clear, clear);
  // (`execute` settles the call: its promise is not this chain's, or a rejection would go unhandled.)
  const go = () => {
    if (!call.settled) execute(call);
  };
  waiting.then(go, go);
  return call.promise;
}
