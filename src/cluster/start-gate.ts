/**
 * Calls made before a client's server list is first known (its DNS names or its discovery endpoint
 * have not answered yet) wait for it — each within its own deadline — rather than fail for want of a
 * server. One whose deadline comes first fails with a `NoServersError` that says why there is no
 * server yet, not with an empty list.
 */
import { NoServersError, TimeoutError } from "../errors.js";
import type { Call } from "./call.js";
import { withoutStack } from "../util/no-stack.js";

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

  /**
   * Holds `call` until the list is known, then `execute`s it (see {@link holdCall}); `why` says why
   * there is no list yet, for a call whose deadline comes first.
   */
  hold(call: Call, execute: (call: Call) => unknown, why: () => string): Promise<unknown> {
    return holdCall(
      call,
      this.waiting!,
      execute,
      () =>
        new NoServersError(
          `no server yet after ${call.timeout} ms: the server list is waiting for its first DNS or discovery answer (${why()})`,
        ),
    );
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
  waitedFor: string | (() => Error),
): Promise<unknown> {
  const expired = () =>
    typeof waitedFor === "string"
      ? withoutStack(
          () =>
            new TimeoutError(
              `the request did not complete within ${call.timeout} ms (it waited for ${waitedFor})`,
            ),
        )
      : waitedFor();
  const timer = setTimeout(() => call.fail(expired()), Math.max(0, call.endsAt() - performance.now()));
  const clear = () => clearTimeout(timer);
  call.promise.then(clear, clear);
  // (`execute` settles the call: its promise is not this chain's, or a rejection would go unhandled.
  // Should `execute` throw, the call fails with it now, not at its deadline.)
  const go = () => {
    if (call.settled) return;
    try {
      execute(call);
    } catch (err) {
      call.fail(err);
    }
  };
  waiting.then(go, go);
  return call.promise;
}
