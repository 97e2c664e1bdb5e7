/**
 * Reads that must not be served as a server holds them:
 * - on a server with deletes pending from a change of the server list (`Repairs.repairingOf`), a read
 *   waits for them — within its deadline;
 * - a read may find on its server a copy that later writes made stale — one the server kept
 *   while a write missed it (it stayed up, or was away), or that an earlier list or absence left
 *   on a fallback owner: when the key is remembered as possibly stale on that server, the read
 *   answers a miss instead (a batch read marks such keys in `staleKeys`, and its handler takes
 *   their hits for misses).
 */
import { QUEUED } from "../../connection/attempt.js";
import { TimeoutError } from "../../errors.js";
import type { CallAttempt } from "../call.js";
import type { Repairs } from "./repairs.js";
import type { Server } from "../server.js";

/**
 * Takes `a` (a read about to be sent to `server`) over when it must wait or miss: true when it did,
 * false when it may be sent now. `send` sends it once it may.
 */
export function holdRead(
  a: CallAttempt,
  server: Server,
  repairs: Repairs,
  send: (a: CallAttempt) => void,
): boolean {
  const repairing = repairs.repairingOf(server);
  if (repairing !== undefined) {
    // (Asking the call fixes its overall deadline from now: this attempt is not queued anywhere yet.)
    const deadline = Math.min(a.deadline !== 0 ? a.deadline : performance.now() + a.timeout, a.call.endsAt());
    const timer = setTimeout(() => {
      a.fail(new TimeoutError(`${server.label} was still being repaired after a change of the server list`));
    }, deadline - performance.now());
    repairing.then(() => {
      clearTimeout(timer);
      if (a.state !== QUEUED) return; // settled meanwhile (its deadline, or its call)
      a.deadline = deadline;
      send(a);
    });
    return true;
  }
  if (!repairs.hasAny(server.label)) return false;
  const frame = a.frame;
  const batch = frame.batch;
  if (batch === null) {
    if (!repairs.mayBeStale(server.label, frame.key, frame.base64)) return false;
    setImmediate(missed, a);
    return true;
  }
  const stale: number[] = [];
  for (let i = 0; i < batch.keys.length; i++) {
    if (repairs.mayBeStale(server.label, batch.keys[i]!, batch.keysBase64?.[i] === true)) {
      stale.push(a.indices === null ? i : a.indices[i]!);
    }
  }
  if (stale.length > 0) a.staleKeys = stale;
  return false;
}

/** The read's miss: `undefined`, or what its call answers for one (fetch: "load it yourself"). */
function missed(a: CallAttempt): void {
  a.succeed(a.call.miss);
}
