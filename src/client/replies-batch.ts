/**
 * Reply handlers of the quiet batches, for both protocols: `getMany` (meta `mg … q O<i>` per key,
 * binary GetKQ) and `setMany` / `deleteMany` (`ms`/`md … q O<i>`, SetQ/DeleteQ), each closed by a
 * no-op (`mn` / Noop). Only hits and failures come back before the batch's end; each carries the
 * opaque of its key, which must be in range and increasing; a binary hit also carries its key, which
 * must be the one asked for. An error reply inside a batch is kept and fails the batch when it ends.
 */
import type { CallAttempt, CallHandler } from "../cluster/call.js";
import { SETTLED } from "../connection/attempt.js";
import { ProtocolError } from "../errors.js";
import { Op } from "../protocol/frame.js";
import {
  BATCH_END,
  CLIENT_ERROR,
  DONE,
  EXISTS,
  NOT_FOUND,
  NOT_STORED,
  type ReplyView,
  VALUE,
} from "../protocol/reply.js";
import type { ReplyContext } from "./replies.js";
import { asSerializationError, decode, errorOf, fetchOnly, releaseWin } from "./reply-checks.js";

/** Index in the batch of the key a reply answers, from its opaque; replies must come in order. */
function batchIndex(a: CallAttempt, reply: ReplyView): number {
  const n = a.frame.batch!.keys.length;
  const i = reply.opaque - a.opaque;
  if (reply.opaque < 0 || i < a.next || i >= n) outOfBatch(a, reply, n);
  a.next = i + 1;
  return i;
}

function outOfBatch(a: CallAttempt, reply: ReplyView, n: number): never {
  throw new ProtocolError(
    `batch reply opaque ${reply.opaque} is outside the batch's ${a.opaque}..${a.opaque + n - 1} (or out of order)`,
  );
}

/** Keeps an error reply inside a batch (the batch goes on to its end, then fails). */
function batchError(a: CallAttempt, reply: ReplyView, what: string): false {
  const error = errorOf(reply, what, a.target?.label);
  // Meta error lines carry no opaque; binary ones do, and must be in range.
  if (reply.opaque >= 0) batchIndex(a, reply);
  a.batchError ??= error;
  return false;
}

/** The batch's end: it settles, with its result or its first error. */
function endBatch(a: CallAttempt, reply: ReplyView): true {
  const n = a.frame.batch!.keys.length;
  if (!reply.endsBatch(a.opaque, n)) {
    throw new ProtocolError(`batch end opaque ${reply.opaque}, expected ${a.opaque + n}`);
  }
  if (a.batchError !== null) a.fail(a.batchError);
  else a.succeed(a.result);
  return true;
}

/** `getMany`: hits go into the call's map, keyed by the caller's keys. */
export class GetManyHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind === BATCH_END) return endBatch(a, reply);
    if (kind === NOT_FOUND) {
      batchIndex(a, reply);
      return false;
    }
    if (kind !== VALUE) return batchError(a, reply, "getMany");
    const i = batchIndex(a, reply);
    const batch = a.frame.batch!;
    // Meta hits are paired by opaque alone; a reply that names a key (binary GetKQ) must name this one.
    if (reply.hasKey() && !reply.keyIs(batch.keys[i]!)) {
      throw new ProtocolError(`batch reply for opaque ${reply.opaque} carries another key`);
    }
    if (fetchOnly(reply)) {
      releaseWin(this.ctx, a, reply, batch.keys[i]!, batch.keysBase64?.[i] === true);
      return false;
    }
    keepHit(this.ctx, a, reply, i);
    return false;
  }
}

/** A hit of the `i`th key of a getMany share: decoded into the call's map, keyed by the caller's key. */
export function keepHit(ctx: ReplyContext, a: CallAttempt, reply: ReplyView, i: number): void {
  if (a.state === SETTLED || a.batchError !== null) return;
  const index = a.indices === null ? i : a.indices[i]!;
  // A key that may be older here than its last write (see `read-guards.ts`) is a miss.
  if (a.staleKeys?.includes(index)) return;
  try {
    const key = a.call.keys![index]!;
    (a.result as Map<unknown, unknown>).set(key, decode(ctx, reply));
    a.found++;
  } catch (err) {
    a.batchError = asSerializationError(err);
  }
}

/**
 * `setMany` / `deleteMany`: only the keys that were not stored or not found answer before the end.
 * After a `CLIENT_ERROR` to meta's `ms` the stream's alignment is unknown (see `StoreHandler`): the
 * batch fails and the connection is reset.
 */
export const WRITE_MANY: CallHandler = {
  onReply(a, reply) {
    const kind = reply.kind;
    if (kind === BATCH_END) return endBatch(a, reply);
    if (kind === DONE || kind === NOT_STORED || kind === EXISTS || kind === NOT_FOUND) {
      (a.result as boolean[])[batchIndex(a, reply)] = kind === DONE;
      return false;
    }
    const isStore = a.frame.op === Op.StoreMany;
    batchError(a, reply, isStore ? "setMany" : "deleteMany");
    if (isStore && kind === CLIENT_ERROR && reply.storeErrorBreaksStream) {
      a.fail(a.batchError);
      throw new ProtocolError(
        "CLIENT_ERROR to ms: the value block may have been read as a command; resetting",
      );
    }
    return false;
  },
};
