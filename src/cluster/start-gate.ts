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

  /** Holds `call` until the list is known, then `execute`s it; fails it at its deadline before that. */
  hold(call: Call, execute: (call: Call) => unknown): Promise<unknown> {
    const waiting = this.waiting!;
    const timer = setTimeout(
      () => {
        call.fail(
          new TimeoutError(
            `no server was listed within ${call.timeout} ms: the server list's first DNS or discovery answer had not come`,
          ),
        );
      },
      Math.max(0, call.endsAt() - performance.now()),
    );
    // The timer stays until the call settles: its deadline counts from when it was made.
    const clear = () => clearTimeout(timer);
    call.promise.then(clear, clear);
    waiting.then(() => {
      if (!call.settled) execute(call);
    });
    return call.promise;
  }
}
