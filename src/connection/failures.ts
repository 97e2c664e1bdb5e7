/**
 * The errors a connection fails attempts with, beside the timeouts (`watchdog.ts`) and the socket's
 * own (`dial.ts`).
 */
import {
  ClientClosedError,
  ConnectionError,
  MemcachedError,
  ProtocolError,
  QueueFullError,
  SocketTimeoutError,
} from "../errors.js";
import { withoutStack } from "../util/no-stack.js";

/** A socket given up for `error`: what was in flight fails with a ConnectionError (it may have run). */
export function lostError(error: MemcachedError, label: string): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const message = `${error.message} (connection to ${label} reset)`;
  return withoutStack(() => new ConnectionError(message, { server: label, cause: error }));
}

/** The connection was destroyed (its pool closed): what waits on it fails with this. */
export function destroyedError(label: string): ClientClosedError {
  return withoutStack(() => new ClientClosedError("the client was destroyed", { server: label }));
}

/** The server closed a connection that still owed replies. */
export function closedByServer(label: string): ConnectionError {
  return withoutStack(() => new ConnectionError(`${label} closed the connection`, { server: label }));
}

/** Options that `net` or `tls` refused at once (a bad certificate). */
export function refusedAtOnce(label: string, err: unknown): ConnectionError {
  const why = `connecting to ${label} failed at once: ${(err as Error).message}`;
  return withoutStack(() => new ConnectionError(why, { server: label, cause: err }));
}

/** A server silent for `silentMs` with `owed` replies owed (the hang detector's verdict). */
export function hungError(label: string, silentMs: number, owed: number): SocketTimeoutError {
  const message = `${label} sent nothing for ${Math.round(silentMs)} ms with ${owed} replies owed`;
  return withoutStack(() => new SocketTimeoutError(message, { server: label }));
}

/** A reply that broke the stream (or a handler that threw on it). */
export function replyError(err: unknown): MemcachedError {
  if (err instanceof MemcachedError) return err;
  // The cause keeps its own frames: where the handler threw.
  return withoutStack(
    () => new ProtocolError(`reply handling failed: ${(err as Error).message}`, { cause: err }),
  );
}

/** An attempt refused at the door: the connection is closed, or `queued` attempts already wait. */
export function refusal(closed: boolean, queued: number, label: string): MemcachedError {
  if (closed) return new ClientClosedError("the client is closed", { server: label });
  return new QueueFullError(`${queued} requests already queued (maxQueue)`, { server: label });
}
