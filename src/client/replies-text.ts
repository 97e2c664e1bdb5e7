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
  SERVER_ERROR,
  VALUE,
  VERSION,
} from "../protocol/reply.js";
import { Op } from "../protocol/frame.js";
import type { TextReply } from "../protocol/text/reply.js";
import { keepHit } from "./replies-batch.js";
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
      const i = unanswered(a, reply as TextReply);
      if (i < 0) throw unexpectedValue(reply, "a key of the getMany not answered yet");
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

/**
 * The index of a key that `reply` carries and that has not been answered, marked answered now; -1
 * when there is none. In order (memcached), it is the next match from where the last one was found;
 * at the first hit out of order (twemproxy), the keys not answered yet are indexed by token once, so
 * a large batch never costs a scan per hit.
 */
function unanswered(a: CallAttempt, reply: TextReply): number {
  const keys = a.frame.batch!.keys;
  if (a.byKey === null) {
    const answered = (a.answered ??= new Uint8Array(keys.length));
    for (let i = a.next; i < keys.length; i++) {
      if (reply.keyIs(keys[i]!)) {
        answered[i] = 1;
        a.next = i + 1;
        return i;
      }
    }
    a.byKey = new Map();
    for (let i = keys.length - 1; i >= 0; i--) {
      if (answered[i] === 1) continue;
      const list = a.byKey.get(keys[i]!);
      if (list === undefined) a.byKey.set(keys[i]!, [i]);
      else list.push(i);
    }
  }
  return a.byKey.get(reply.keyText())?.pop() ?? -1;
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
    const isStore = a.frame.op === Op.StoreMany;
    const i = a.next++;
    if (kind === DONE || kind === NOT_STORED || kind === EXISTS || kind === NOT_FOUND) {
      (a.result as boolean[])[i] = kind === DONE;
    } else {
      a.batchError ??= errorOf(reply, isStore ? "setMany" : "deleteMany", a.target?.label);
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

/**
 * The no-op of the text protocol is a `version` round trip. A `SERVER_ERROR` completes it too: twemproxy
 * forwards `version` to one of its servers and answers so when that one is down, and the round trip —
 * all the no-op is for — is still made.
 */
export const TEXT_NOOP: CallHandler = {
  onReply(a, reply) {
    if (reply.kind !== VERSION && reply.kind !== SERVER_ERROR) return failWith(a, reply, "noop");
    a.succeed(true);
    return true;
  },
};
