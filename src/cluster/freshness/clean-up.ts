/**
 * Cleaning a returning server: before it takes traffic again, every key it may hold an older value
 * of (write-failure tracking, see `write-failures.ts`) is deleted on it, in quiet `md` batches — or,
 * when it missed more writes than are remembered, everything on it is flushed (`flush_all`). Sent
 * straight to the server: it answers probes but is not up yet, so the cluster would not route there.
 */
import type { AttemptSink } from "../../connection/attempt.js";
import { Batch, Frame, Op } from "../../protocol/frame.js";
import { Call, CallAttempt, type CallHandler } from "../call.js";
import type { Server } from "../server.js";
import type { StaleKey } from "./write-failures.js";

/** Keys per `md` batch. */
const CLEAN_UP_BATCH = 500;

/** Sink of clean-up attempts: straight to their call, no failover, no write-failure noting. */
const DIRECT: AttemptSink<Call, Server | undefined> = {
  succeeded: (a, value) => a.call.succeed(value),
  failed: (a, error) => a.call.fail(error),
};

/** Deletes `keys` on `server`; rejects (the server then stays down) when a batch fails. */
export async function cleanUp(
  server: Server,
  keys: StaleKey[],
  handler: CallHandler,
  timeout: number,
): Promise<void> {
  for (let i = 0; i < keys.length; i += CLEAN_UP_BATCH) {
    const part = keys.slice(i, i + CLEAN_UP_BATCH);
    const frame = new Frame(Op.DeleteMany);
    frame.batch = new Batch(
      part.map((k) => k.token),
      part.some((k) => k.base64) ? part.map((k) => k.base64) : null,
    );
    await sendDirect(server, frame, handler, timeout, new Array<boolean>(part.length).fill(true));
  }
}

/** Flushes `server` whole; rejects (the server then stays down) when it fails. */
export async function flushServer(server: Server, handler: CallHandler, timeout: number): Promise<void> {
  await sendDirect(server, new Frame(Op.Flush), handler, timeout, null);
}

/** Sends `frame` to `server` as it is, and waits for its answer (the repairs' own commands). */
export function sendDirect(
  server: Server,
  frame: Frame,
  handler: CallHandler,
  timeout: number,
  result: boolean[] | null = null,
  deadline = 0,
): Promise<unknown> {
  const call = new Call(frame, handler, timeout);
  const a = new CallAttempt(frame, handler, DIRECT, call, server, timeout);
  a.result = result;
  a.deadline = deadline;
  call.attempt = a;
  server.pool.send(a);
  return call.promise;
}
