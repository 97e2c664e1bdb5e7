/**
 * Writes whose outcome is unknown. A write that timed out after it was written may still be
 * applied by the server, later than a newer write of the same key sent on another connection. A
 * delete of its key(s) follows it on the same connection, so that whatever order the server applies
 * them in, the key ends up with the newer value or missing (a miss is always allowed). If that
 * delete fails too, the key is remembered for the server's clean-up (see `repairs.ts`).
 */
import type { AttemptSink } from "../../connection/attempt.js";
import { Op } from "../../protocol/frame.js";
import { Call, CallAttempt, type CallHandler, routeOf } from "../call.js";
import type { Server } from "../server.js";
import type { Repairs } from "./repairs.js";

export class LateWrites {
  constructor(
    readonly repairs: Repairs,
    readonly options: { deleteHandler: CallHandler; deleteManyHandler: CallHandler },
  ) {}

  /** Sends the delete that follows `a`, a write that timed out after it was written. */
  follow(a: CallAttempt): void {
    const carrier = a.carrier!;
    if (carrier.closed || a.target === undefined) return;
    const batch = a.frame.batch;
    const frame = a.frame.copy(batch === null ? Op.Delete : Op.DeleteMany);
    const handler = batch === null ? this.options.deleteHandler : this.options.deleteManyHandler;
    const call = new Call(frame, handler, a.call.timeout);
    call.routingKey = a.call.routingKey;
    call.keys = a.call.keys;
    const undo = new CallAttempt(frame, handler, this.#sink, call, a.target, call.timeout);
    if (batch !== null) undo.result = new Array<boolean>(batch.keys.length).fill(true);
    undo.indices = a.indices;
    call.attempt = undo;
    call.promise.catch(() => undefined);
    carrier.send(undo);
  }

  readonly #sink: AttemptSink<Call, Server | undefined> = {
    succeeded: (u, value) => u.call.succeed(value),
    failed: (u, error) => {
      const undo = u as CallAttempt;
      if (undo.target !== undefined) {
        this.repairs.noteFailedWrite(undo.target, undo.frame, (i) => routeOf(undo.call, undo, i), error);
      }
      undo.call.fail(error);
    },
  };
}
