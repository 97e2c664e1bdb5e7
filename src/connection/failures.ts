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
} from "../errors.js";

/** A socket given up for `error`: what was in flight fails with a ConnectionError (it may have run). */
export function lostError(error: MemcachedError, label: string): ConnectionError {
  if (error instanceof ConnectionError) return error;
  return new ConnectionError(`${error.message} (connection to ${label} reset)`, {
    server: label,
    cause: error,
  });
}

/** A reply that broke the stream (or a handler that threw on it). */
export function replyError(err: unknown): MemcachedError {
  if (err instanceof MemcachedError) return err;
  return new ProtocolError(`reply handling failed: ${(err as Error).message}`, { cause: err });
}

/** An attempt refused at the door: the connection is closed, or `queued` attempts already wait. */
export function refusal(closed: boolean, queued: number, label: string): MemcachedError {
  if (closed) return new ClientClosedError("the client is closed", { server: label });
  return new QueueFullError(`${queued} requests already queued (maxQueue)`, { server: label });
}
