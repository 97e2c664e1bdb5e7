/**
 * Writes whose outcome is unknown. A write that timed out after it was written may still be
 * applied by the server, later than a newer write of the same key sent on another connection. A
 * delete of its key(s) follows it on the same connection, so that whatever order the server applies
 * them in, the key ends up with the newer value or missing (a miss is always allowed). If that
 * delete fails too, the key is remembered for the server's clean-up (see `repairs.ts`).
 */
import { Op } from "../../protocol/frame.js";
import { type CallAttempt, type CallHandler, routeOf } from "../call.js";
import { sendDirect } from "../direct.js";
import type { Repairs } from "./repairs.js";

export class LateWrites {
  constructor(
    readonly repairs: Repairs,
    readonly options: { deleteHandler: CallHandler; deleteManyHandler: CallHandler },
  ) {}

  /** Sends the delete that follows `a`, a write that timed out after it was written. */
  follow(a: CallAttempt): void {
    const carrier = a.carrier!;
    const server = a.target;
    if (carrier.closed || server === undefined) return;
    const batch = a.frame.batch;
    const frame = a.frame.copy(batch === null ? Op.Delete : Op.DeleteMany);
    const handler = batch === null ? this.options.deleteHandler : this.options.deleteManyHandler;
    const result = batch === null ? null : new Array<boolean>(batch.keys.length).fill(true);
    sendDirect(server, frame, handler, a.call.timeout, { via: carrier, result }).catch((error: unknown) => {
      // The keys are those of `a` (its share of a batch): routed as its own were.
      this.repairs.noteFailedWrite(server, frame, (i) => routeOf(a.call, a, i), error);
    });
  }
}
