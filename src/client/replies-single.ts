/**
 * Reply handlers of single-key and server commands, written once for both protocols over the
 * protocol-neutral reply kinds (`protocol/reply.ts`). One object per command kind and client, shared
 * by every attempt (no closure per request). Rules common to all: `reply-checks.ts`.
 */
import type { CallAttempt, CallHandler } from "../cluster/call.js";
import { SETTLED } from "../connection/attempt.js";
import { ClientError, ProtocolError } from "../errors.js";
import { FLAG_CLAIMED, FLAG_STALE, FLAG_WIN } from "../protocol/meta/codes.js";
import {
  BATCH_END,
  CLIENT_ERROR,
  DONE,
  END,
  EXISTS,
  NOT_FOUND,
  NOT_STORED,
  type ReplyView,
  STAT,
  VALUE,
  VERSION,
  UNEXPECTED,
} from "../protocol/reply.js";
import type { WarmItem } from "../cluster/warm-up.js";
import type { FetchReply, GetsResult, ReplyContext } from "./replies.js";
import {
  asSerializationError,
  checkOpaque,
  decode,
  failWith,
  fetchOnly,
  releaseWin,
  succeedDecoded,
} from "./reply-checks.js";

/** A handler of one command, decoding with its client's codec. */
abstract class Handler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}
  abstract onReply(attempt: CallAttempt, reply: ReplyView): boolean;
}

/**
 * A warm-up read of a key's previous owner: the raw item ({@link WarmItem}), or undefined when
 * missing. Not decoded here: the bytes are copied to the new owner as they are.
 */
export class WarmReadHandler extends Handler {
  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind !== VALUE && kind !== NOT_FOUND) return failWith(a, reply, "get");
    checkOpaque(a, reply);
    if (kind === NOT_FOUND || fetchOnly(reply)) {
      a.succeed(undefined);
      return true;
    }
    const data = Buffer.from(reply.value.subarray(reply.valueStart, reply.valueEnd));
    a.succeed({ data, flags: reply.clientFlags, ttl: reply.ttlLeft } satisfies WarmItem);
    return true;
  }
}

/**
 * `get`, `getAndTouch` (the value) and `gets` (`withCas`: { value, cas, flags }); undefined when
 * missing. An item only `fetch` should see reads as a miss (see `fetchOnly`).
 */
export class ReadHandler extends Handler {
  constructor(
    ctx: ReplyContext,
    readonly withCas: boolean,
  ) {
    super(ctx);
  }

  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind === NOT_FOUND) {
      checkOpaque(a, reply);
      a.succeed(undefined);
      return true;
    }
    if (kind !== VALUE) return failWith(a, reply, this.withCas ? "gets" : "get");
    checkOpaque(a, reply);
    if (fetchOnly(reply)) {
      releaseWin(this.ctx, a, reply, a.frame.key, a.frame.base64);
      a.succeed(undefined);
      return true;
    }
    if (a.state === SETTLED) return true;
    if (!this.withCas) {
      succeedDecoded(this.ctx, a, reply);
      return true;
    }
    if (!reply.hasCas()) throw new ProtocolError("gets: reply has no CAS");
    let value: unknown;
    try {
      value = decode(this.ctx, reply);
    } catch (err) {
      a.fail(asSerializationError(err));
      return true;
    }
    a.succeed({ value, cas: reply.cas(), flags: reply.clientFlags } satisfies GetsResult);
    return true;
  }
}

/** `touch`: true, or false when the key does not exist. */
export class TouchHandler extends Handler {
  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind !== DONE && kind !== NOT_FOUND) return failWith(a, reply, "touch");
    checkOpaque(a, reply);
    a.succeed(kind === DONE);
    return true;
  }
}

/**
 * set, add, replace, append, prepend, cas: true when stored; false when not stored, the CAS changed
 * or the key is missing. After a `CLIENT_ERROR` to meta's `ms` (or text's `set`), memcached 1.6.18 may or may not have
 * swallowed the value block (it does not after a malformed command line: the data is then read as a
 * command), so the stream's alignment is unknown: the attempt fails and the connection is reset.
 */
export class StoreHandler extends Handler {
  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind === DONE || kind === NOT_STORED || kind === EXISTS || kind === NOT_FOUND) {
      checkOpaque(a, reply);
      a.succeed(kind === DONE);
      return true;
    }
    failWith(a, reply, "store");
    if (reply.kind === CLIENT_ERROR && reply.storeErrorBreaksStream) {
      throw new ProtocolError(
        "CLIENT_ERROR to ms: the value block may have been read as a command; resetting",
      );
    }
    return true;
  }
}

/** `delete` (and `invalidate`): true when the key existed. */
export class DeleteHandler extends Handler {
  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind !== DONE && kind !== NOT_FOUND && kind !== EXISTS) return failWith(a, reply, "delete");
    checkOpaque(a, reply);
    a.succeed(kind === DONE);
    return true;
  }
}

/** incr, decr: the new value (u64), or undefined when missing. */
export class ArithHandler extends Handler {
  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind === VALUE) {
      checkOpaque(a, reply);
      if (a.state !== SETTLED) a.succeed(reply.counter());
      return true;
    }
    if (kind !== NOT_FOUND && kind !== NOT_STORED && kind !== EXISTS) return failWith(a, reply, "incr/decr");
    checkOpaque(a, reply);
    a.succeed(undefined);
    return true;
  }
}

/** `fetch`'s read (meta): a value, a stub, the W/X/Z flags; a miss is a win. */
export class FetchHandler extends Handler {
  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind === VALUE) {
      checkOpaque(a, reply);
      if (a.state === SETTLED) return true;
      const won = (reply.upper & FLAG_WIN) !== 0;
      const stale = (reply.upper & FLAG_STALE) !== 0;
      const claimed = (reply.upper & FLAG_CLAIMED) !== 0;
      // A stub made by N on a miss is empty and carries W or Z; an empty value stored by someone is
      // only mistaken for one while it is being recached (callers then wait for the recache).
      const hasValue = !(reply.valueEnd === reply.valueStart && (won || claimed) && !stale);
      let value: unknown;
      if (hasValue) {
        try {
          value = decode(this.ctx, reply);
        } catch (err) {
          a.fail(asSerializationError(err));
          return true;
        }
      }
      if (hasValue && !won) a.found = 1; // a hit, for traces
      a.succeed({ hasValue, value, cas: reply.cas(), won, stale, claimed } satisfies FetchReply);
      return true;
    }
    if (kind === NOT_FOUND) {
      checkOpaque(a, reply);
      a.succeed({ hasValue: false, value: undefined, cas: 0n, won: true, stale: false, claimed: false });
      return true;
    }
    return failWith(a, reply, "fetch");
  }
}

/** `stats`: one reply per stat, then the end → { name: value }. */
export class StatsHandler extends Handler {
  onReply(a: CallAttempt, reply: ReplyView): boolean {
    const kind = reply.kind;
    if (kind !== STAT && kind !== END) {
      // A group the server does not have: `ERROR` (meta, text) or "Stat: key not found" (binary), as
      // the whole answer. The connection is fine: only the request was wrong.
      if (kind === NOT_FOUND || (kind === UNEXPECTED && reply.line() === "ERROR")) {
        checkOpaque(a, reply);
        a.fail(
          new ClientError("stats: the server has no such stats group (see memcached's protocol.txt)", {
            server: a.target?.label,
          }),
        );
        return true;
      }
      return failWith(a, reply, "stats");
    }
    checkOpaque(a, reply);
    const stats = a.result as Record<string, string>;
    if (kind === END) {
      a.succeed(stats);
      return true;
    }
    const [name, value] = reply.stat();
    stats[name] = value;
    return false;
  }
}

/** A command answered by one reply of `kind`: its result is `result(reply)`. */
export class OneReplyHandler implements CallHandler {
  constructor(
    readonly what: string,
    readonly kind: number,
    readonly result: (reply: ReplyView) => unknown,
  ) {}

  onReply(a: CallAttempt, reply: ReplyView): boolean {
    if (reply.kind !== this.kind) return failWith(a, reply, this.what);
    checkOpaque(a, reply);
    a.succeed(this.result(reply));
    return true;
  }
}

/** version, flush_all, the no-op. */
export const VERSION_HANDLER = new OneReplyHandler("version", VERSION, (r) => r.text());
export const FLUSH_HANDLER = new OneReplyHandler("flush_all", DONE, () => true);
export const NOOP_HANDLER = new OneReplyHandler("noop", BATCH_END, () => true);

/** A handler for a command this protocol never sends (the client refuses it first). */
export const NEVER_SENT: CallHandler = {
  onReply(_a, reply) {
    throw new ProtocolError(`unexpected ${reply.line()}: this command is not sent in this protocol`);
  },
};
