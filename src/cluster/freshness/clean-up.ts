/**
 * Cleaning a returning server: before it takes traffic again, every key it may hold an older value
 * of (write-failure tracking, see `write-failures.ts`) is deleted on it, in quiet `md` batches — or,
 * when it missed more writes than are remembered, everything on it is flushed (`flush_all`). Sent
 * straight to the server (`direct.ts`): it answers probes but is not up yet, so the cluster would not
 * route there.
 */
import { Batch, Frame, Op } from "../../protocol/frame.js";
import type { CallHandler } from "../call.js";
import { sendDirect } from "../direct.js";
import type { Server } from "../server.js";
import type { StaleKey } from "./write-failures.js";

/** Keys per `md` batch. */
const CLEAN_UP_BATCH = 500;

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
    await sendDirect(server, frame, handler, timeout, { result: new Array<boolean>(part.length).fill(true) });
  }
}

/** Flushes `server` whole; rejects (the server then stays down) when it fails. */
export async function flushServer(server: Server, handler: CallHandler, timeout: number): Promise<void> {
  await sendDirect(server, new Frame(Op.Flush), handler, timeout);
}
