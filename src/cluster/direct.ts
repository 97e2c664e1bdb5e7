/**
 * The cluster's own commands — a repair's deletes and flushes, the delete that follows a write that
 * timed out, the delete of a stale copy before a write — sent straight to a server (or to one of its
 * connections) as they are: no routing, no failover, no retry, no write-failure noting. One path and
 * one sink for all of them: each settles its own call, and its promise says how it went.
 */
import type { Attempt, AttemptSink } from "../connection/attempt.js";
import type { Frame } from "../protocol/frame.js";
import { Call, CallAttempt, type CallHandler } from "./call.js";
import type { Server } from "./server.js";

/** Where and how a direct command goes, beyond its server. */
export interface DirectOptions {
  /** One connection of the server (a follow-up on the connection of the write it follows). */
  via?: { send(attempt: Attempt): void };
  /** A batch's per-key results (`deleteMany`). */
  result?: boolean[] | null;
  /** An absolute deadline (`performance.now()` clock) instead of `timeout` from when it is queued. */
  deadline?: number;
}

/** Straight to the call: nothing more is decided on an attempt's answer. */
const DIRECT: AttemptSink<Call, Server | undefined> = {
  succeeded: (a, value) => a.call.succeed(value),
  failed: (a, error) => a.call.fail(error),
};

/** Sends `frame` to `server` as it is, and resolves or rejects with its answer. */
export function sendDirect(
  server: Server,
  frame: Frame,
  handler: CallHandler,
  timeout: number,
  o: DirectOptions = {},
): Promise<unknown> {
  const call = new Call(frame, handler, timeout);
  const a = new CallAttempt(frame, handler, DIRECT, call, server, timeout);
  a.result = o.result ?? null;
  a.deadline = o.deadline ?? 0;
  call.attempt = a;
  (o.via ?? server.pool).send(a);
  return call.promise;
}
