/**
 * Reply handlers: what each command's replies mean. One object per command kind, shared by every
 * request (no closure per request). Part of the client layer: values are decoded here with the
 * client's codec (`req.context`).
 *
 * Rules common to all:
 * - the reply's opaque must be the request's (batches: in range and increasing) and a batch's `k`
 *   token must be the key asked for; otherwise `ProtocolError`, which destroys the connection;
 * - a request already settled (timed out, aborted) still consumes its replies, without decoding;
 * - `CLIENT_ERROR` / `SERVER_ERROR` fail the request with `ClientError` / `ServerError` and leave the
 *   connection in use (memcached stays aligned: it swallows the value block of a refused `ms`);
 *   anything else unexpected, `ERROR` included, is a `ProtocolError`.
 */
import { ClientError, MemcachedError, ProtocolError, SerializationError, ServerError } from "./errors.js";
import {
  CLIENT_ERROR,
  EN,
  FLAG_STALE,
  FLAG_WIN,
  FLAG_WON,
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
} from "./protocol/meta/codes.js";
import type { MetaReply } from "./protocol/meta/parser.js";
import { type ReplyHandler, type Request, SETTLED } from "./protocol/request.js";
import type { ValueCodec } from "./serialization/codec.js";

/** What the handlers need from the client that sent a request (`req.context`). */
export interface ReadContext {
  codec: ValueCodec;
  /**
   * A plain read was handed the recache win of a stale item (`X W`) it will not use: give it back
   * (`md <key> I`, keeping the TTL) so that the next `fetch` reloads the item.
   */
  releaseWin(req: Request, token: string, base64: boolean): void;
}

/** The reply handlers of one protocol, by command: the client picks the set of its protocol. */
export interface Handlers {
  get: ReplyHandler;
  gets: ReplyHandler;
  touch: ReplyHandler;
  store: ReplyHandler;
  delete: ReplyHandler;
  arith: ReplyHandler;
  getMany: ReplyHandler;
  writeMany: ReplyHandler;
  stats: ReplyHandler;
  version: ReplyHandler;
  flush: ReplyHandler;
  noop: ReplyHandler;
  fetch: ReplyHandler;
}

/** What `gets` resolves to. */
export interface GetsResult<T = unknown> {
  value: T;
  /** CAS token, for {@link Client.cas}. */
  cas: bigint;
  /** Client flags stored with the value. */
  flags: number;
}

function unexpected(reply: MetaReply, what: string): ProtocolError {
  return new ProtocolError(`unexpected reply ${JSON.stringify(reply.line())} to ${what}`);
}

function checkOpaque(req: Request, reply: MetaReply): void {
  if (reply.opaque === req.opaque) return;
  // memcached before 1.6.18 may answer a miss with a bare `EN`: nothing to check then.
  if (reply.opaque === -1 && reply.code === EN) return;
  throw new ProtocolError(`reply opaque ${reply.opaque} does not match request opaque ${req.opaque}`);
}

/** Fails `req` for an error reply; throws for `ERROR` and anything unknown. Returns true (done). */
function errorReply(req: Request, reply: MetaReply, what: string): true {
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
function fetchOnly(reply: MetaReply): boolean {
  if ((reply.upper & FLAG_STALE) !== 0) return true;
  return reply.size === 0 && (reply.upper & (FLAG_WIN | FLAG_WON)) !== 0;
}

/** A plain read of a fetch-only item: a miss, and a stale item's win handed back. */
function fetchOnlyMiss(req: Request, reply: MetaReply, token: string, base64: boolean): void {
  if ((reply.upper & FLAG_STALE) !== 0 && (reply.upper & FLAG_WIN) !== 0) {
    (req.context as ReadContext).releaseWin(req, token, base64);
  }
}

function decode(req: Request, reply: MetaReply): unknown {
  return (req.context as ReadContext).codec.decode(
    reply.value,
    reply.valueStart,
    reply.valueEnd,
    reply.clientFlags,
  );
}

/** Settles `req` with the decoded value; a decoding failure fails the request, not the connection. */
function succeedDecoded(req: Request, reply: MetaReply): void {
  let value: unknown;
  try {
    value = decode(req, reply);
  } catch (err) {
    req.fail(err instanceof MemcachedError ? err : new SerializationError(String(err), { cause: err }));
    return;
  }
  req.succeed(value);
}

/** `get`, `getAndTouch`: VA → value, EN → undefined. */
export const GET: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    const code = reply.code;
    if (code === VA) {
      checkOpaque(req, reply);
      if (fetchOnly(reply)) {
        fetchOnlyMiss(req, reply, req.key, req.base64);
        req.succeed(undefined);
      } else if (req.state !== SETTLED) succeedDecoded(req, reply);
      return true;
    }
    if (code === EN) {
      checkOpaque(req, reply);
      req.succeed(undefined);
      return true;
    }
    return errorReply(req, reply, "get");
  },
};

/** `gets`: VA → { value, cas, flags }, EN → undefined. */
export const GETS: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    if (reply.code === VA) {
      checkOpaque(req, reply);
      if (req.state === SETTLED) return true;
      if (fetchOnly(reply)) {
        fetchOnlyMiss(req, reply, req.key, req.base64);
        req.succeed(undefined);
        return true;
      }
      if (reply.casStart < 0) throw new ProtocolError("gets: reply has no CAS");
      let value: unknown;
      try {
        value = decode(req, reply);
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
  },
};

/** `touch`: HD → true, EN → false. */
export const TOUCH: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    if (reply.code === HD || reply.code === EN) {
      checkOpaque(req, reply);
      req.succeed(reply.code === HD);
      return true;
    }
    return errorReply(req, reply, "touch");
  },
};

/**
 * `ms` (set, add, replace, append, prepend, cas): HD → true; NS, EX, NF → false.
 * After a `CLIENT_ERROR` to `ms`, memcached 1.6.18 may or may not have swallowed the value block
 * (it does not after a malformed command line: the data is then read as a command), so the stream's
 * alignment is unknown: the request fails with `ClientError` and the connection is reset.
 */
export const STORE: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
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
  },
};

/** `md`: HD → true; NF, EX → false. */
export const DELETE: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    const code = reply.code;
    if (code === HD || code === NF || code === EX) {
      checkOpaque(req, reply);
      req.succeed(code === HD);
      return true;
    }
    return errorReply(req, reply, "delete");
  },
};

/** `ma`: VA <n> → bigint; NF, NS, EX → undefined. */
export const ARITH: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
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
  },
};

/** Index of a batch reply's key from its opaque; replies must come in order. */
function batchIndex(req: Request, reply: MetaReply): number {
  const batch = req.batch!;
  const i = reply.opaque - req.opaque;
  if (reply.opaque < 0 || i < batch.next || i >= batch.keys.length) {
    throw new ProtocolError(
      `batch reply opaque ${reply.opaque} is outside the batch's ${req.opaque}..${req.opaque + batch.keys.length - 1} (or out of order)`,
    );
  }
  batch.next = i + 1;
  return i;
}

/** Records an error reply inside a quiet batch: the batch goes on until `MN`, then fails. */
function batchError(req: Request, reply: MetaReply, what: string): false {
  const batch = req.batch!;
  if (reply.code === CLIENT_ERROR) batch.error ??= new ClientError(`${what}: CLIENT_ERROR ${reply.text()}`);
  else if (reply.code === SERVER_ERROR)
    batch.error ??= new ServerError(`${what}: SERVER_ERROR ${reply.text()}`);
  else throw unexpected(reply, what);
  return false;
}

function endBatch(req: Request, result: unknown): true {
  const err = req.batch!.error;
  if (err !== null) req.fail(err);
  else req.succeed(result);
  return true;
}

/** `getMany`: quiet `mg … k q O<i>` per key, then `mn`. Hits arrive as VA; MN ends the batch. */
export const GET_MANY: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    const code = reply.code;
    if (code === VA) {
      const i = batchIndex(req, reply);
      const batch = req.batch!;
      if (!reply.keyIs(batch.keys[i]!)) {
        throw new ProtocolError(`batch reply for opaque ${reply.opaque} carries another key`);
      }
      if (fetchOnly(reply)) {
        fetchOnlyMiss(req, reply, batch.keys[i]!, batch.keysBase64?.[i] === true);
        return false;
      }
      if (req.state === SETTLED || batch.error !== null) return false;
      try {
        (req.result as Map<unknown, unknown>).set(batch.userKeys[i], decode(req, reply));
        batch.found++;
      } catch (err) {
        batch.error = err instanceof Error ? err : new SerializationError(String(err));
      }
      return false;
    }
    if (code === MN) return endBatch(req, req.result);
    if (code === EN) {
      batchIndex(req, reply);
      return false;
    }
    return batchError(req, reply, "getMany");
  },
};

/** `setMany` / `deleteMany`: quiet; only failures (NS, EX, NF) come back before `MN`. */
export const WRITE_MANY: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    const code = reply.code;
    if (code === NS || code === EX || code === NF || code === HD) {
      const i = batchIndex(req, reply);
      (req.result as boolean[])[i] = code === HD;
      return false;
    }
    if (code === MN) return endBatch(req, req.result);
    const isStore = req.batch!.values !== null;
    batchError(req, reply, isStore ? "setMany" : "deleteMany");
    if (isStore && code === CLIENT_ERROR) {
      // As for STORE: alignment after a refused ms is unknown. Fail the batch, reset the connection.
      req.fail(req.batch!.error);
      throw new ProtocolError(
        "CLIENT_ERROR to ms: the value block may have been read as a command; resetting",
      );
    }
    return false;
  },
};

/** `stats`: STAT lines, then END → { name: value }. */
export const STATS: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
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
  },
};

/** `version`: VERSION <v> → string. */
export const VERSION_HANDLER: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    if (reply.code === VERSION) {
      req.succeed(reply.text());
      return true;
    }
    return errorReply(req, reply, "version");
  },
};

/** `flush_all`: OK → true. */
export const FLUSH: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    if (reply.code === OK) {
      req.succeed(true);
      return true;
    }
    return errorReply(req, reply, "flush_all");
  },
};

/** What one `mg … N R` of {@link Client.fetch} tells. */
export interface FetchReply {
  /** The item holds a usable value (possibly stale); false for a stub made by `N` on a miss. */
  hasValue: boolean;
  value: unknown;
  /** CAS of the item (or stub), for the winner's write-back. */
  cas: bigint;
  /** `W`: this caller won the right to (re)load. */
  won: boolean;
  /** `X`: the item is stale (invalidated). */
  stale: boolean;
  /** `Z`: another caller already won. */
  claimed: boolean;
}

/** `mg … v f c t N R` for fetch: VA (value, stub, flags W/X/Z) or EN. */
export const FETCH: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    if (reply.code === VA) {
      checkOpaque(req, reply);
      if (req.state === SETTLED) return true;
      const won = (reply.upper & FLAG_WIN) !== 0;
      const stale = (reply.upper & FLAG_STALE) !== 0;
      const claimed = (reply.upper & FLAG_WON) !== 0;
      // A stub made by N on a miss is empty and carries W or Z; an empty value stored by someone is
      // only mistaken for one while it is being recached (callers then wait for the recache).
      const hasValue = !(reply.size === 0 && (won || claimed) && !stale);
      let value: unknown;
      if (hasValue) {
        try {
          value = decode(req, reply);
        } catch (err) {
          req.fail(err);
          return true;
        }
      }
      req.succeed({ hasValue, value, cas: reply.cas(), won, stale, claimed } satisfies FetchReply);
      return true;
    }
    if (reply.code === EN) {
      checkOpaque(req, reply);
      req.succeed({ hasValue: false, value: undefined, cas: 0n, won: true, stale: false, claimed: false });
      return true;
    }
    return errorReply(req, reply, "fetch");
  },
};

/** `mn`: MN → true. */
export const NOOP: ReplyHandler<MetaReply> = {
  onReply(req, reply) {
    if (reply.code === MN) {
      req.succeed(true);
      return true;
    }
    return errorReply(req, reply, "mn");
  },
};

/** The meta protocol's handlers, by command. */
export const META_HANDLERS: Handlers = {
  get: GET,
  gets: GETS,
  touch: TOUCH,
  store: STORE,
  delete: DELETE,
  arith: ARITH,
  getMany: GET_MANY,
  writeMany: WRITE_MANY,
  stats: STATS,
  version: VERSION_HANDLER,
  flush: FLUSH,
  noop: NOOP,
  fetch: FETCH,
};
