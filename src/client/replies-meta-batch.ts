/**
 * Meta reply handlers of the quiet batches: `getMany` (`mg … k q O<i>` per key, then `mn`) and
 * `setMany` / `deleteMany` (`ms`/`md … q O<i>`, then `mn`). Only hits and failures come back before
 * `MN`; each carries the opaque of its key, which must be in range and increasing.
 */
import type { CallAttempt, CallHandler } from "../cluster/call.js";
import { SETTLED } from "../connection/attempt.js";
import { ClientError, ProtocolError, SerializationError, ServerError } from "../errors.js";
import { CLIENT_ERROR, EN, HD, MN, NF, NS, SERVER_ERROR, VA, EX } from "../protocol/meta/codes.js";
import type { MetaReply } from "../protocol/meta/parser.js";
import type { ReplyContext } from "./replies.js";
import { decode, fetchOnly, fetchOnlyMiss, unexpected } from "./replies-meta.js";

/** Index of a batch reply's key from its opaque; replies must come in order. */
function batchIndex(req: CallAttempt, reply: MetaReply): number {
  const n = req.frame.batch!.keys.length;
  const i = reply.opaque - req.opaque;
  if (reply.opaque < 0 || i < req.next || i >= n) {
    throw new ProtocolError(
      `batch reply opaque ${reply.opaque} is outside the batch's ${req.opaque}..${req.opaque + n - 1} (or out of order)`,
    );
  }
  req.next = i + 1;
  return i;
}

/** Records an error reply inside a quiet batch: the batch goes on until `MN`, then fails. */
function batchError(req: CallAttempt, reply: MetaReply, what: string): false {
  if (reply.code === CLIENT_ERROR)
    req.batchError ??= new ClientError(`${what}: CLIENT_ERROR ${reply.text()}`);
  else if (reply.code === SERVER_ERROR)
    req.batchError ??= new ServerError(`${what}: SERVER_ERROR ${reply.text()}`);
  else throw unexpected(reply, what);
  return false;
}

function endBatch(req: CallAttempt, result: unknown): true {
  const err = req.batchError;
  if (err !== null) req.fail(err);
  else req.succeed(result);
  return true;
}

/** `getMany`: quiet `mg … k q O<i>` per key, then `mn`. Hits arrive as VA; MN ends the batch. */
export class GetManyHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    const code = reply.code;
    if (code === VA) {
      const i = batchIndex(req, reply);
      const batch = req.frame.batch!;
      if (!reply.keyIs(batch.keys[i]!)) {
        throw new ProtocolError(`batch reply for opaque ${reply.opaque} carries another key`);
      }
      if (fetchOnly(reply)) {
        fetchOnlyMiss(this.ctx, req, reply, batch.keys[i]!, batch.keysBase64?.[i] === true);
        return false;
      }
      if (req.state === SETTLED || req.batchError !== null) return false;
      try {
        const key = req.call.keys![req.indices === null ? i : req.indices[i]!];
        (req.result as Map<unknown, unknown>).set(key, decode(this.ctx, reply));
        req.found++;
      } catch (err) {
        req.batchError = err instanceof Error ? err : new SerializationError(String(err));
      }
      return false;
    }
    if (code === MN) return endBatch(req, req.result);
    if (code === EN) {
      batchIndex(req, reply);
      return false;
    }
    return batchError(req, reply, "getMany");
  }
}

/** `setMany` / `deleteMany`: quiet; only failures (NS, EX, NF) come back before `MN`. */
export class WriteManyHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    const code = reply.code;
    if (code === NS || code === EX || code === NF || code === HD) {
      const i = batchIndex(req, reply);
      (req.result as boolean[])[i] = code === HD;
      return false;
    }
    if (code === MN) return endBatch(req, req.result);
    const isStore = req.frame.batch!.values !== null;
    batchError(req, reply, isStore ? "setMany" : "deleteMany");
    if (isStore && code === CLIENT_ERROR) {
      // As for STORE: alignment after a refused ms is unknown. Fail the batch, reset the connection.
      req.fail(req.batchError);
      throw new ProtocolError(
        "CLIENT_ERROR to ms: the value block may have been read as a command; resetting",
      );
    }
    return false;
  }
}
