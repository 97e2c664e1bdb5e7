/**
 * Errors of a request's or a connection's failure found on a timer's or a socket's event (a refused
 * or reset connect, a server closing, a deadline, a hung server) are built without stack frames.
 * Their frames would be the library's event handlers, which name nothing of the caller's
 * (`captureCallSite` adds the caller's line), and recording them costs more than the rest of a
 * failed request: a server that dies, or a burst of calls past their deadline, builds thousands of
 * errors in one turn. Errors a call throws at once (a bad key, a bad option) keep their frames:
 * those name the caller.
 */

/** The error `make` builds, with no frames recorded: its `stack` is its name and message. */
export function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
