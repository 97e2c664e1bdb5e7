/**
 * Reply handlers of the binary protocol: the same results as the meta handlers in `replies-meta.ts`
 * (a miss is `undefined`, a refused store is `false`, …), from binary responses. One object per
 * command kind, shared by every request. Part of the client layer: values are decoded here.
 *
 * Rules common to all:
 * - the response's opaque must be the request's (batches: in range and increasing), and a GetKQ
 *   hit's key must be the key asked for; otherwise `ProtocolError`, which destroys the connection;
 * - a request already settled (timed out, aborted) still consumes its responses, without decoding;
 * - error statuses fail the request with a typed error and leave the connection in use (the body
 *   length is in the header, so the stream never loses its alignment); an authentication error
 *   (0x20: the connection is not authenticated) is an `AuthError` that closes the connection.
 */
import {
  AuthError,
  ClientError,
  MemcachedError,
  ProtocolError,
  SerializationError,
  ServerError,
} from "../errors.js";
import {
  AUTH_ERROR,
  BUSY,
  GETKQ,
  INTERNAL_ERROR,
  INVALID_ARGUMENTS,
  KEY_EXISTS,
  KEY_NOT_FOUND,
  NON_NUMERIC,
  NOOP,
  NOT_STORED,
  NOT_SUPPORTED,
  OK,
  OUT_OF_MEMORY,
  STAT,
  statusName,
  TEMPORARY_FAILURE,
  UNKNOWN_COMMAND,
  VALUE_TOO_LARGE,
} from "../protocol/binary/codes.js";
import type { BinaryReply } from "../protocol/binary/parser.js";
import type { CallAttempt, CallHandler } from "../cluster/call.js";
import { SETTLED } from "../connection/attempt.js";
import type { GetsResult, Handlers, ReplyContext } from "./replies.js";

/** A binary reply handler. */
interface Handler extends CallHandler {
  onReply(attempt: CallAttempt, reply: BinaryReply): boolean;
}

function checkOpaque(req: CallAttempt, reply: BinaryReply): void {
  if (reply.opaque !== req.opaque) {
    throw new ProtocolError(
      `reply opaque ${reply.opaque} does not match request opaque ${req.opaque} (${reply.name()})`,
    );
  }
}

/**
 * The typed error for an error status (the server's message included), or a thrown error for a
 * status that breaks the connection: authentication (AuthError) or one we do not know (ProtocolError).
 */
function statusError(reply: BinaryReply, what: string): MemcachedError {
  const status = reply.status;
  const message = `${what}: ${statusName(status)}${reply.valueEnd > reply.valueStart ? ` (${reply.text().slice(0, 200)})` : ""}`;
  switch (status) {
    case INVALID_ARGUMENTS:
    case NON_NUMERIC:
    case UNKNOWN_COMMAND:
    case NOT_SUPPORTED:
      return new ClientError(message);
    case VALUE_TOO_LARGE:
    case OUT_OF_MEMORY:
    case INTERNAL_ERROR:
    case BUSY:
    case TEMPORARY_FAILURE:
      return new ServerError(message);
    case AUTH_ERROR:
      throw new AuthError(`${what}: the server requires authentication (configure \`auth\`)`);
    default:
      throw new ProtocolError(`unexpected ${reply.line()} to ${what}`);
  }
}

function fail(req: CallAttempt, reply: BinaryReply, what: string): true {
  checkOpaque(req, reply);
  req.fail(statusError(reply, what));
  return true;
}

function decode(ctx: ReplyContext, reply: BinaryReply): unknown {
  return ctx.codec.decode(reply.value, reply.valueStart, reply.valueEnd, reply.clientFlags);
}

/**
 * A read: status 0 → `shape(decoded value, reply)`, key not found → undefined. A value the codec
 * cannot decode fails the request (SerializationError), not the connection.
 */
function read(
  ctx: ReplyContext,
  what: string,
  shape: (value: unknown, reply: BinaryReply) => unknown,
): Handler {
  return {
    onReply(req, reply) {
      checkOpaque(req, reply);
      if (reply.status === KEY_NOT_FOUND) {
        req.succeed(undefined);
        return true;
      }
      if (reply.status !== OK) return fail(req, reply, what);
      if (req.state === SETTLED) return true;
      let value: unknown;
      try {
        value = decode(ctx, reply);
      } catch (err) {
        req.fail(err instanceof MemcachedError ? err : new SerializationError(String(err), { cause: err }));
        return true;
      }
      req.succeed(shape(value, reply));
      return true;
    },
  };
}

/** `get`, `getAndTouch`: the value. */
const VALUE = (value: unknown) => value;
/** `gets`: { value, cas, flags }. */
const WITH_CAS = (value: unknown, reply: BinaryReply) =>
  ({ value, cas: reply.cas(), flags: reply.clientFlags }) satisfies GetsResult;

/** `touch`: 0 → true, key not found → false. */
const TOUCH: Handler = {
  onReply(req, reply) {
    checkOpaque(req, reply);
    if (reply.status === OK || reply.status === KEY_NOT_FOUND) {
      req.succeed(reply.status === OK);
      return true;
    }
    return fail(req, reply, "touch");
  },
};

/** Set/Add/Replace/Append/Prepend (cas): 0 → true; not found, exists, not stored → false. */
const STORE: Handler = {
  onReply(req, reply) {
    checkOpaque(req, reply);
    const s = reply.status;
    if (s === OK || s === KEY_NOT_FOUND || s === KEY_EXISTS || s === NOT_STORED) {
      req.succeed(s === OK);
      return true;
    }
    return fail(req, reply, "store");
  },
};

/** Delete: 0 → true; not found (or exists, with a CAS) → false. */
const DELETE: Handler = {
  onReply(req, reply) {
    checkOpaque(req, reply);
    const s = reply.status;
    if (s === OK || s === KEY_NOT_FOUND || s === KEY_EXISTS) {
      req.succeed(s === OK);
      return true;
    }
    return fail(req, reply, "delete");
  },
};

/** Increment/Decrement: 0 → the new value (u64), key not found → undefined. */
const ARITH: Handler = {
  onReply(req, reply) {
    checkOpaque(req, reply);
    if (reply.status === OK) {
      const value = reply.u64();
      req.succeed(value);
      return true;
    }
    if (reply.status === KEY_NOT_FOUND) {
      req.succeed(undefined);
      return true;
    }
    return fail(req, reply, "incr/decr");
  },
};

/** Index of a batch response's key from its opaque; responses must come in order. */
function batchIndex(req: CallAttempt, reply: BinaryReply): number {
  const n = req.frame.batch!.keys.length;
  const i = reply.opaque - req.opaque;
  if (i < req.next || i >= n) {
    throw new ProtocolError(
      `batch reply opaque ${reply.opaque} is outside the batch's ${req.opaque}..${req.opaque + n - 1} (or out of order)`,
    );
  }
  req.next = i + 1;
  return i;
}

/** The closing Noop: its opaque is the one after the batch's keys. Settles the batch. */
function endBatch(req: CallAttempt, reply: BinaryReply, result: unknown): true {
  const n = req.frame.batch!.keys.length;
  if (reply.opaque !== req.opaque + n) {
    throw new ProtocolError(`batch Noop opaque ${reply.opaque}, expected ${req.opaque + n}`);
  }
  if (req.batchError !== null) req.fail(req.batchError);
  else req.succeed(result);
  return true;
}

/** An error status inside a quiet batch: the batch goes on until Noop, then fails. */
function batchError(req: CallAttempt, reply: BinaryReply, what: string): false {
  const err = statusError(reply, what);
  req.batchError ??= err;
  return false;
}

/** `getMany`: GetKQ per key (hits only), then Noop. */
const getMany = (ctx: ReplyContext): Handler => ({
  onReply(req, reply) {
    if (reply.opcode === NOOP) return endBatch(req, reply, req.result);
    const i = batchIndex(req, reply);
    const batch = req.frame.batch!;
    if (reply.status !== OK) {
      if (reply.status === KEY_NOT_FOUND) return false;
      return batchError(req, reply, "getMany");
    }
    if (reply.opcode !== GETKQ || !reply.keyIs(batch.keys[i]!)) {
      throw new ProtocolError(`batch reply for opaque ${reply.opaque} is not a GetKQ hit for its key`);
    }
    if (req.state === SETTLED || req.batchError !== null) return false;
    try {
      const key = req.call.keys![req.indices === null ? i : req.indices[i]!];
      (req.result as Map<unknown, unknown>).set(key, decode(ctx, reply));
      req.found++;
    } catch (err) {
      req.batchError = err instanceof Error ? err : new SerializationError(String(err));
    }
    return false;
  },
});

/** `setMany` / `deleteMany`: SetQ / DeleteQ per key (failures only), then Noop. */
const WRITE_MANY: Handler = {
  onReply(req, reply) {
    if (reply.opcode === NOOP) return endBatch(req, reply, req.result);
    const i = batchIndex(req, reply);
    const s = reply.status;
    if (s === OK || s === KEY_NOT_FOUND || s === KEY_EXISTS || s === NOT_STORED) {
      (req.result as boolean[])[i] = s === OK;
      return false;
    }
    return batchError(req, reply, req.frame.batch!.values !== null ? "setMany" : "deleteMany");
  },
};

/** `stats`: one Stat response per stat, then one with an empty key → { name: value }. */
const STATS: Handler = {
  onReply(req, reply) {
    checkOpaque(req, reply);
    if (reply.status !== OK) return fail(req, reply, "stats");
    if (reply.opcode !== STAT) throw new ProtocolError(`unexpected ${reply.line()} to stats`);
    if (reply.keyEnd === reply.keyStart) {
      req.succeed(req.result);
      return true;
    }
    (req.result as Record<string, string>)[reply.keyText()] = reply.text();
    return false;
  },
};

/** A command answered by one response: status 0 → `result(reply)`, else the status's error. */
function single(what: string, result: (reply: BinaryReply) => unknown): Handler {
  return {
    onReply(req, reply) {
      checkOpaque(req, reply);
      if (reply.status !== OK) return fail(req, reply, what);
      req.succeed(result(reply));
      return true;
    },
  };
}

/** `version`: the version string. Flush, Noop → true. */
const VERSION_HANDLER = single("version", (reply) => reply.text());
const FLUSH = single("flush", () => true);
const NOOP_HANDLER = single("noop", () => true);

/** fetch is meta-only: the client refuses it before anything is sent; this never runs. */
const UNREACHABLE: Handler = {
  onReply(_req, reply) {
    throw new ProtocolError(`unexpected ${reply.line()}: this command is not sent in the binary protocol`);
  },
};

/** The binary protocol's handlers, by command, decoding with `ctx`. */
export function binaryHandlers(ctx: ReplyContext): Handlers {
  return {
    get: read(ctx, "get", VALUE),
    gets: read(ctx, "gets", WITH_CAS),
    touch: TOUCH,
    store: STORE,
    delete: DELETE,
    arith: ARITH,
    getMany: getMany(ctx),
    writeMany: WRITE_MANY,
    stats: STATS,
    version: VERSION_HANDLER,
    flush: FLUSH,
    noop: NOOP_HANDLER,
    fetch: UNREACHABLE,
  };
}
