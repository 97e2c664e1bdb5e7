/**
 * Type test of the error classes: `err.code` is a union of string literals, an `instanceof` check
 * narrows it to the class's own codes, and a code that does not exist does not compile.
 * Compiled by `npm run typetest` (never run): each `@ts-expect-error` fails the build when the
 * mistake below it stops being an error.
 */
import {
  ConnectionError,
  ERROR_CODES,
  type MemcachedErrorCode,
  MemcachedError,
  NoServersError,
  ServerUnavailableError,
  TimeoutError,
} from "../../src/index.ts";

declare const err: unknown;
declare function expectType<T>(value: T): void;

if (err instanceof MemcachedError) {
  const code: MemcachedErrorCode = err.code;
  switch (err.code) {
    case "MC_ERR_TIMEOUT":
    case ERROR_CODES.ConnectionError:
      break;
    // @ts-expect-error: no such code
    case "MC_ERR_TYPO":
      break;
  }
  // @ts-expect-error: no such code
  if (code === "MC_ERR_TIMEOUTT") throw err;
}

if (err instanceof TimeoutError) {
  expectType<"MC_ERR_TIMEOUT">(err.code);
  // @ts-expect-error: a TimeoutError is not a connection failure
  if (err.code === "MC_ERR_CONNECTION") throw err;
}

if (err instanceof ConnectionError) {
  // A ConnectionError may be any of its subclasses (NoServersError among them): its code is one of theirs.
  const noServers: typeof err.code = ERROR_CODES.NoServersError;
  const unavailable: typeof err.code = "MC_ERR_SERVER_UNAVAILABLE";
  void [noServers, unavailable];
  // @ts-expect-error: a timeout of the request is not a ConnectionError
  if (err.code === "MC_ERR_TIMEOUT") throw err;
}

// The constant maps each class's name to its code, and cannot be changed.
expectType<"MC_ERR_TIMEOUT">(ERROR_CODES.TimeoutError);
expectType<"MC_ERR_NO_SERVERS">(ERROR_CODES.NoServersError);
// @ts-expect-error: the constant is read-only
ERROR_CODES.TimeoutError = "MC_ERR_TIMEOUT";
// @ts-expect-error: no such error
void ERROR_CODES.TypoError;

// NoServersError is a ConnectionError: a handler of connection failures sees it too.
const none: ConnectionError = new NoServersError("no server is up");
const down: ConnectionError = new ServerUnavailableError("down");
void [none, down];
