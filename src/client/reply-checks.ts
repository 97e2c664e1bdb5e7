/**
 * What every reply handler checks and does, in the protocol-neutral words of `protocol/reply.ts`:
 * - a reply must answer the attempt at the head of the FIFO (its opaque), else `ProtocolError`, which
 *   destroys the connection — never a wrong value to a caller;
 * - error replies fail the attempt with `ClientError` / `ServerError` and leave the connection in use;
 *   an authentication error (`AuthError`) or anything unexpected throws, which closes it;
 * - values are decoded here, in the read callback, with the client's codec; a value the codec cannot
 *   decode fails the attempt (`SerializationError`), not the connection.
 */
import type { CallAttempt } from "../cluster/call.js";
import {
  AuthError,
  ClientError,
  MemcachedError,
  ProtocolError,
  SerializationError,
  ServerError,
} from "../errors.js";
import { FLAG_CLAIMED, FLAG_STALE, FLAG_WIN } from "../protocol/meta/codes.js";
import { AUTH_ERROR, CLIENT_ERROR, type ReplyView, SERVER_ERROR } from "../protocol/reply.js";
import type { ReplyContext } from "./replies.js";

/** Throws a `ProtocolError` unless `reply` answers `attempt`. */
export function checkOpaque(attempt: CallAttempt, reply: ReplyView): void {
  if (!reply.answers(attempt.opaque)) opaqueMismatch(attempt, reply);
}

function opaqueMismatch(attempt: CallAttempt, reply: ReplyView): never {
  throw new ProtocolError(
    `reply opaque ${reply.opaque} does not match request opaque ${attempt.opaque} (${reply.line()})`,
  );
}

/**
 * The error of an error reply to `what` from `server` (its label); throws for one that breaks the
 * connection.
 */
export function errorOf(reply: ReplyView, what: string, server: string | undefined): MemcachedError {
  switch (reply.kind) {
    case CLIENT_ERROR:
      return new ClientError(`${what}: ${reply.message()}`, { server });
    case SERVER_ERROR:
      return new ServerError(`${what}: ${reply.message()}`, { server });
    case AUTH_ERROR:
      throw new AuthError(`${what}: the server requires authentication (configure \`auth\`)`, { server });
    default:
      throw new ProtocolError(`unexpected reply ${JSON.stringify(reply.line())} to ${what}`, { server });
  }
}

/** Fails `attempt` with the error of `reply` (see {@link errorOf}). Returns true: its last reply. */
export function failWith(attempt: CallAttempt, reply: ReplyView, what: string): true {
  const error = errorOf(reply, what, attempt.target?.label);
  checkOpaque(attempt, reply);
  attempt.fail(error);
  return true;
}

/** The reply's value, decoded with the client's codec. */
export function decode(ctx: ReplyContext, reply: ReplyView): unknown {
  return ctx.codec.decode(reply.value, reply.valueStart, reply.valueEnd, reply.clientFlags, reply.ownsValue);
}

/** Settles `attempt` with the decoded value; a decoding failure fails the attempt, not the connection. */
export function succeedDecoded(ctx: ReplyContext, attempt: CallAttempt, reply: ReplyView): void {
  let value: unknown;
  try {
    value = decode(ctx, reply);
  } catch (err) {
    attempt.fail(asSerializationError(err));
    return;
  }
  attempt.succeed(value);
}

/** A decoding failure as a typed error. */
export function asSerializationError(err: unknown): MemcachedError {
  return err instanceof MemcachedError ? err : new SerializationError(String(err), { cause: err });
}

/**
 * For plain reads (meta): an item that only `fetch` should see. A stub made by `mg … N` for a caller
 * that is loading the value (empty, with `W` or `Z`), or an item marked stale by `invalidate` (`X`):
 * both read as a miss, so a plain read never returns a value nobody stored, nor one declared stale.
 */
export function fetchOnly(reply: ReplyView): boolean {
  if ((reply.upper & FLAG_STALE) !== 0) return true;
  return reply.valueEnd === reply.valueStart && (reply.upper & (FLAG_WIN | FLAG_CLAIMED)) !== 0;
}

/** A plain read of a fetch-only item: a stale item's win is handed back, so the next fetch reloads it. */
export function releaseWin(
  ctx: ReplyContext,
  attempt: CallAttempt,
  reply: ReplyView,
  token: string,
  base64: boolean,
): void {
  if ((reply.upper & FLAG_STALE) !== 0 && (reply.upper & FLAG_WIN) !== 0)
    ctx.releaseWin(attempt, token, base64);
}
