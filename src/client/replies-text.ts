/**
 * Reply handlers of the text protocol where its replies differ in shape from meta's and binary's.
 * The text protocol has no opaque, so the pairing rests on reply order and on these checks:
 * - a read is answered by at most one `VALUE` per key asked — carrying that key — then `END`;
 * - a getMany line is answered by one `VALUE` at most per key asked, then `END`;
 * - a setMany / deleteMany is one command per key: exactly one reply line each.
 * A reply that breaks these is a `ProtocolError` (the connection is reset), never a wrong value. An
 * error line ends a read (memcached sends no `END` after it). Every other command answers with one
 * line of the kinds the shared handlers read (`replies-single.ts`).
 */
import type { CallAttempt, CallHandler } from "../cluster/call.js";
import { SETTLED } from "../connection/attempt.js";
import { ProtocolError } from "../errors.js";
import {
  CLIENT_ERROR,
  DONE,
  END,
  EXISTS,
  NOT_FOUND,
  NOT_STORED,
  type ReplyView,
  VALUE,
  VERSION,
} from "../protocol/reply.js";
import { keepHit } from "./replies-batch.js";
import { OneReplyHandler } from "./replies-single.js";
import { errorOf, failWith } from "./reply-checks.js";

/** What a mismatched `VALUE` says, without its data. */
function unexpectedValue(reply: ReplyView, asked: string): ProtocolError {
  return new ProtocolError(
    `text reply ${JSON.stringify(reply.line())} does not answer the request (${asked})`,
  );
}

/**
 * `get`, `gets`, `gat` and the warm-up read: the shared handler reads the `VALUE` (and settles),
 * the `END` closes the reply; an `END` alone is a miss.
 */
export class ValueThenEnd implements CallHandler {
  constructor(
    readonly inner: CallHandler,
    readonly what: string,
  ) {}

  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind === VALUE) {
      if (a.next !== 0 || !reply.keyIs(a.frame.key)) throw unexpectedValue(reply, `${this.what} of one key`);
      a.next = 1;
      this.inner.onReply(a, reply);
      return false;
    }
    if (kind === END) {
      if (a.state !== SETTLED) a.succeed(undefined);
      return true;
    }
    return failWith(a, reply, this.what);
  }
}

/**
 * `getMany`: `get k1 k2 …` → the hits, then `END`. memcached answers in the order asked; twemproxy
 * does not (it reassembles the answers of its servers in another order when some keys miss), so
 * each `VALUE` must carry a key asked for and not answered yet — looked for from where the last one
 * was found, then from the start.
 */
export class TextGetMany implements CallHandler {
  constructor(readonly ctx: Parameters<typeof keepHit>[0]) {}

  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind === VALUE) {
      const keys = a.frame.batch!.keys;
      a.answered ??= new Uint8Array(keys.length);
      const i = unanswered(a.answered, keys, reply, a.next);
      if (i < 0) throw unexpectedValue(reply, "a key of the getMany not answered yet");
      a.answered[i] = 1;
      a.next = i + 1;
      keepHit(this.ctx, a, reply, i);
      return false;
    }
    if (kind === END) {
      if (a.batchError !== null) a.fail(a.batchError);
      else a.succeed(a.result);
      return true;
    }
    return failWith(a, reply, "getMany");
  }
}

/** Index of the first key from `from` on (then from 0) that `reply` carries and that is not answered; -1 when none. */
function unanswered(answered: Uint8Array, keys: readonly string[], reply: ReplyView, from: number): number {
  for (let i = from; i < keys.length; i++) if (answered[i] === 0 && reply.keyIs(keys[i]!)) return i;
  for (let i = 0; i < from; i++) if (answered[i] === 0 && reply.keyIs(keys[i]!)) return i;
  return -1;
}

/**
 * `setMany` / `deleteMany`: one reply per key, in order; the last one settles the call. An error
 * line is that key's reply (the batch then fails at its end); after a `CLIENT_ERROR` to a `set`,
 * the data block may have been read as a command, so the connection is reset.
 */
export const TEXT_WRITE_MANY: CallHandler = {
  onReply(a, reply) {
    const kind = reply.kind;
    const batch = a.frame.batch!;
    const isStore = batch.values !== null;
    const i = a.next++;
    if (kind === DONE || kind === NOT_STORED || kind === EXISTS || kind === NOT_FOUND) {
      (a.result as boolean[])[i] = kind === DONE;
    } else {
      a.batchError ??= errorOf(reply, isStore ? "setMany" : "deleteMany");
      if (isStore && kind === CLIENT_ERROR) {
        a.fail(a.batchError);
        throw new ProtocolError(
          "CLIENT_ERROR to set: the data block may have been read as a command; resetting",
        );
      }
    }
    if (a.next < batch.keys.length) return false;
    if (a.batchError !== null) a.fail(a.batchError);
    else a.succeed(a.result);
    return true;
  },
};

/** The no-op of the text protocol is a `version` round trip. */
export const TEXT_NOOP = new OneReplyHandler("noop", VERSION, () => true);
