/**
 * Meta reply handlers: what each command's replies mean. One object per command kind and client,
 * shared by every attempt (no closure per request). Part of the client layer: values are decoded
 * here, in the read callback, with the client's codec.
 *
 * Rules common to all:
 * - the reply's opaque must be the request's (batches: in range and increasing) and a batch's `k`
 *   token must be the key asked for; otherwise `ProtocolError`, which destroys the connection;
 * - a request already settled (timed out, aborted) still consumes its replies, without decoding;
 * - `CLIENT_ERROR` / `SERVER_ERROR` fail the request with `ClientError` / `ServerError` and leave the
 *   connection in use (memcached stays aligned: it swallows the value block of a refused `ms`);
 *   anything else unexpected, `ERROR` included, is a `ProtocolError`.
 */
import { ClientError, MemcachedError, ProtocolError, SerializationError, ServerError } from "../errors.js";
import {
  CLIENT_ERROR,
  EN,
  FLAG_STALE,
  FLAG_WIN,
  FLAG_CLAIMED,
  END,
  EX,
  HD,
  MN,
  NF,
  NS,
  OK,
  SERVER_ERROR,
  STAT,
  VA,
  VERSION,
} from "../protocol/meta/codes.js";
import type { MetaReply } from "../protocol/meta/parser.js";
import type { CallAttempt, CallHandler } from "../cluster/call.js";
import type { FetchReply, GetsResult, ReplyContext } from "./replies.js";
import { SETTLED } from "../connection/attempt.js";

export function unexpected(reply: MetaReply, what: string): ProtocolError {
  return new ProtocolError(`unexpected reply ${JSON.stringify(reply.line())} to ${what}`);
}

export function checkOpaque(req: CallAttempt, reply: MetaReply): void {
  if (reply.opaque === req.opaque) return;
  // memcached before 1.6.18 may answer a miss with a bare `EN`: nothing to check then.
  if (reply.opaque === -1 && reply.code === EN) return;
  throw new ProtocolError(`reply opaque ${reply.opaque} does not match request opaque ${req.opaque}`);
}

/** Fails `req` for an error reply; throws for `ERROR` and anything unknown. Returns true (done). */
export function errorReply(req: CallAttempt, reply: MetaReply, what: string): true {
  if (reply.code === CLIENT_ERROR) req.fail(new ClientError(`${what}: CLIENT_ERROR ${reply.text()}`));
  else if (reply.code === SERVER_ERROR) req.fail(new ServerError(`${what}: SERVER_ERROR ${reply.text()}`));
  else throw unexpected(reply, what);
  return true;
}

/**
 * For plain reads: an item that only `fetch` should see. A stub made by `mg … N` for a caller that is
 * loading the value (empty, with `W` or `Z`), or an item marked stale by `invalidate` (`X`): both read
 * as a miss, so a plain read never returns a value nobody stored, nor one declared stale.
 */
export function fetchOnly(reply: MetaReply): boolean {
  if ((reply.upper & FLAG_STALE) !== 0) return true;
  return reply.size === 0 && (reply.upper & (FLAG_WIN | FLAG_CLAIMED)) !== 0;
}

/** A plain read of a fetch-only item: a miss, and a stale item's win handed back. */
export function fetchOnlyMiss(
  ctx: ReplyContext,
  req: CallAttempt,
  reply: MetaReply,
  token: string,
  base64: boolean,
): void {
  if ((reply.upper & FLAG_STALE) !== 0 && (reply.upper & FLAG_WIN) !== 0) ctx.releaseWin(req, token, base64);
}

export function decode(ctx: ReplyContext, reply: MetaReply): unknown {
  return ctx.codec.decode(reply.value, reply.valueStart, reply.valueEnd, reply.clientFlags);
}

/** Settles `req` with the decoded value; a decoding failure fails the request, not the connection. */
function succeedDecoded(ctx: ReplyContext, req: CallAttempt, reply: MetaReply): void {
  let value: unknown;
  try {
    value = decode(ctx, reply);
  } catch (err) {
    req.fail(err instanceof MemcachedError ? err : new SerializationError(String(err), { cause: err }));
    return;
  }
  req.succeed(value);
}

/** `get`, `getAndTouch`: VA → value, EN → undefined. */
export class GetHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    const code = reply.code;
    if (code === VA) {
      checkOpaque(req, reply);
      if (fetchOnly(reply)) {
        fetchOnlyMiss(this.ctx, req, reply, req.frame.key, req.frame.base64);
        req.succeed(undefined);
      } else if (req.state !== SETTLED) succeedDecoded(this.ctx, req, reply);
      return true;
    }
    if (code === EN) {
      checkOpaque(req, reply);
      req.succeed(undefined);
      return true;
    }
    return errorReply(req, reply, "get");
  }
}

/** `gets`: VA → { value, cas, flags }, EN → undefined. */
export class GetsHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    if (reply.code === VA) {
      checkOpaque(req, reply);
      if (req.state === SETTLED) return true;
      if (fetchOnly(reply)) {
        fetchOnlyMiss(this.ctx, req, reply, req.frame.key, req.frame.base64);
        req.succeed(undefined);
        return true;
      }
      if (reply.casStart < 0) throw new ProtocolError("gets: reply has no CAS");
      let value: unknown;
      try {
        value = decode(this.ctx, reply);
      } catch (err) {
        req.fail(err);
        return true;
      }
      req.succeed({ value, cas: reply.cas(), flags: reply.clientFlags } satisfies GetsResult);
      return true;
    }
    if (reply.code === EN) {
      checkOpaque(req, reply);
      req.succeed(undefined);
      return true;
    }
    return errorReply(req, reply, "gets");
  }
}

/** `touch`: HD → true, EN → false. */
export class TouchHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    if (reply.code === HD || reply.code === EN) {
      checkOpaque(req, reply);
      req.succeed(reply.code === HD);
      return true;
    }
    return errorReply(req, reply, "touch");
  }
}

/**
 * `ms` (set, add, replace, append, prepend, cas): HD → true; NS, EX, NF → false.
 * After a `CLIENT_ERROR` to `ms`, memcached 1.6.18 may or may not have swallowed the value block
 * (it does not after a malformed command line: the data is then read as a command), so the stream's
 * alignment is unknown: the request fails with `ClientError` and the connection is reset.
 */
export class StoreHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    const code = reply.code;
    if (code === HD || code === NS || code === EX || code === NF) {
      checkOpaque(req, reply);
      req.succeed(code === HD);
      return true;
    }
    errorReply(req, reply, "store");
    if (reply.code === CLIENT_ERROR) {
      throw new ProtocolError(
        "CLIENT_ERROR to ms: the value block may have been read as a command; resetting",
      );
    }
    return true;
  }
}

/** `md`: HD → true; NF, EX → false. */
export class DeleteHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    const code = reply.code;
    if (code === HD || code === NF || code === EX) {
      checkOpaque(req, reply);
      req.succeed(code === HD);
      return true;
    }
    return errorReply(req, reply, "delete");
  }
}

/** `ma`: VA <n> → bigint; NF, NS, EX → undefined. */
export class ArithHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    const code = reply.code;
    if (code === VA) {
      checkOpaque(req, reply);
      if (req.state === SETTLED) return true;
      const text = reply.value.toString("latin1", reply.valueStart, reply.valueEnd);
      if (!/^\d{1,20}$/.test(text))
        throw new ProtocolError(`incr/decr: value ${JSON.stringify(text)} is not a number`);
      req.succeed(BigInt(text));
      return true;
    }
    if (code === NF || code === NS || code === EX) {
      checkOpaque(req, reply);
      req.succeed(undefined);
      return true;
    }
    return errorReply(req, reply, "incr/decr");
  }
}

/** `stats`: STAT lines, then END → { name: value }. */
export class StatsHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    if (reply.code === STAT) {
      const text = reply.text();
      const sp = text.indexOf(" ");
      const stats = req.result as Record<string, string>;
      if (sp < 0) stats[text] = "";
      else stats[text.slice(0, sp)] = text.slice(sp + 1);
      return false;
    }
    if (reply.code === END) {
      req.succeed(req.result);
      return true;
    }
    return errorReply(req, reply, "stats");
  }
}

/** `version`: VERSION <v> → string. */
export class VersionHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    if (reply.code === VERSION) {
      req.succeed(reply.text());
      return true;
    }
    return errorReply(req, reply, "version");
  }
}

/** `flush_all`: OK → true. */
export class FlushHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    if (reply.code === OK) {
      req.succeed(true);
      return true;
    }
    return errorReply(req, reply, "flush_all");
  }
}

/** `mg … v f c t N R` for fetch: VA (value, stub, flags W/X/Z) or EN. */
export class FetchHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    if (reply.code === VA) {
      checkOpaque(req, reply);
      if (req.state === SETTLED) return true;
      const won = (reply.upper & FLAG_WIN) !== 0;
      const stale = (reply.upper & FLAG_STALE) !== 0;
      const claimed = (reply.upper & FLAG_CLAIMED) !== 0;
      // A stub made by N on a miss is empty and carries W or Z; an empty value stored by someone is
      // only mistaken for one while it is being recached (callers then wait for the recache).
      const hasValue = !(reply.size === 0 && (won || claimed) && !stale);
      let value: unknown;
      if (hasValue) {
        try {
          value = decode(this.ctx, reply);
        } catch (err) {
          req.fail(err);
          return true;
        }
      }
      if (hasValue && !won) req.found = 1; // a hit, for traces
      req.succeed({ hasValue, value, cas: reply.cas(), won, stale, claimed } satisfies FetchReply);
      return true;
    }
    if (reply.code === EN) {
      checkOpaque(req, reply);
      req.succeed({ hasValue: false, value: undefined, cas: 0n, won: true, stale: false, claimed: false });
      return true;
    }
    return errorReply(req, reply, "fetch");
  }
}

/** `mn`: MN → true. */
export class NoopHandler implements CallHandler {
  constructor(readonly ctx: ReplyContext) {}

  onReply(req: CallAttempt, reply: MetaReply): boolean {
    if (reply.code === MN) {
      req.succeed(true);
      return true;
    }
    return errorReply(req, reply, "mn");
  }
}
