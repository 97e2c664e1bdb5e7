/**
 * Writes that act on the item as the server holds it (incr, decr, add, replace, append, prepend,
 * cas): on a server that may hold a copy of the key older than its last write, such a write would
 * count on, append to, compare with, or be refused by that copy. The copy is deleted there first, so
 * the write acts as on a missing item — which is what the key is on that server as far as the last
 * acknowledged write goes. The key stays remembered until its repair: reads there miss meanwhile, and
 * the repair may delete what this write made (a miss later, never an older value).
 */
import { QUEUED } from "../../connection/attempt.js";
import { ConnectionError, TimeoutError } from "../../errors.js";
import { markUnsent } from "../../connection/unsent.js";
import { Frame, Op } from "../../protocol/frame.js";
import type { CallAttempt, CallHandler } from "../call.js";
import { actsOnItem } from "../policy.js";
import type { Server } from "../server.js";
import { sendDirect } from "../direct.js";
import type { Repairs } from "./repairs.js";
import { withoutStack } from "../../util/no-stack.js";

/**
 * Takes `a` (a write about to be sent to `server`) over when the key's copy there must be deleted
 * first: true when it did (it is sent once the delete is answered), false when it may be sent now.
 */
export function holdWrite(
  a: CallAttempt,
  server: Server,
  repairs: Repairs,
  deleteHandler: CallHandler,
  send: (a: CallAttempt) => void,
): boolean {
  const frame = a.frame;
  if (!actsOnItem(frame) || !repairs.mayBeStale(server.label, frame.key, frame.base64)) return false;
  const del = new Frame(Op.Delete);
  del.key = frame.key;
  del.base64 = frame.base64;
  // (Asking the call fixes its overall deadline from now: this attempt is not queued anywhere yet.)
  const deadline = Math.min(a.deadline !== 0 ? a.deadline : performance.now() + a.timeout, a.call.endsAt());
  sendDirect(server, del, deleteHandler, Math.max(1, deadline - performance.now()), { deadline }).then(
    () => {
      if (a.state !== QUEUED) return; // settled meanwhile (its deadline, or its call)
      if (deadline - performance.now() < 1) {
        const message = `${server.label}: no time left for the write after deleting an older copy`;
        a.fail(withoutStack(() => new TimeoutError(message, { server: server.label })));
        return;
      }
      a.deadline = deadline;
      // Straight to the server: the key stays remembered there until its repair, and this write must
      // not delete it again. A server gone down meanwhile fails it as any would (`send`).
      if (server.state === "up") server.pool.send(a);
      else send(a);
    },
    // The write itself was never sent: it may be tried again (unless its time is up).
    (err: unknown) => {
      if (err instanceof TimeoutError) a.fail(err);
      else {
        const why = `${server.label}: the delete of an older copy before the write failed`;
        a.fail(markUnsent(new ConnectionError(why, { server: server.label, cause: err })));
      }
    },
  );
  return true;
}
