/**
 * What the client decides about a request, apart from sending it: argument checks (TTLs, 64-bit
 * numbers, seconds), the command's name in traces, which commands may be retried, which are reads
 * (for `failOpen`) and what their miss looks like, and which failures mean "unreachable".
 */
import type { FetchReply } from "./commands.js";
import { ConnectionError, InvalidArgumentError, QueueFullError, TimeoutError } from "./errors.js";
import { Op, type Request } from "./protocol/request.js";

/** Seconds in 30 days: memcached reads larger TTLs as absolute Unix times. */
const THIRTY_DAYS = 60 * 60 * 24 * 30;
/** Largest unsigned 64-bit value (CAS tokens, counters, deltas). */
export const U64_MAX = (1n << 64n) - 1n;

/** TTL in seconds → memcached's form; -1 when not given. */
export function ttl(seconds: number | undefined): number {
  if (seconds === undefined) return -1;
  if (!(typeof seconds === "number" && Number.isInteger(seconds) && seconds >= 0)) {
    throw new InvalidArgumentError(
      `ttl must be a non-negative integer number of seconds, got ${String(seconds)}`,
    );
  }
  if (seconds > THIRTY_DAYS) return Math.floor(Date.now() / 1000) + seconds;
  return seconds;
}

/** `v` as an unsigned 64-bit bigint; `InvalidArgumentError` naming `name` otherwise. */
export function u64(name: string, v: bigint | number): bigint {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
  else throw new InvalidArgumentError(`${name} must be a bigint or a safe integer`);
  if (b < 0n || b > U64_MAX) throw new InvalidArgumentError(`${name} must be between 0 and 2^64-1`);
  return b;
}

/** A whole number of seconds ≥ `min` (default `dflt`). */
export function seconds(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!(Number.isInteger(v) && v >= min))
    throw new InvalidArgumentError(`${name} must be an integer ≥ ${min} (seconds)`);
  return v;
}

/** The command's name in traces and metrics. */
export function commandName(req: Request): string {
  switch (req.op) {
    case Op.Get:
      return "get";
    case Op.Gets:
      return "gets";
    case Op.Touch:
      return "touch";
    case Op.GetAndTouch:
      return "gat";
    case Op.Store:
      if (req.cas !== null) return "cas";
      return req.mode === 0x45
        ? "add"
        : req.mode === 0x52
          ? "replace"
          : req.mode === 0x41
            ? "append"
            : req.mode === 0x50
              ? "prepend"
              : "set";
    case Op.Delete:
      return "delete";
    case Op.Arith:
      return req.mode === 0x44 ? "decr" : "incr";
    case Op.GetMany:
      return "getMany";
    case Op.StoreMany:
      return "setMany";
    case Op.DeleteMany:
      return "deleteMany";
    case Op.Stats:
      return "stats";
    case Op.Version:
      return "version";
    case Op.Flush:
      return "flush";
    case Op.Noop:
      return "noop";
    case Op.Fetch:
      return "fetch";
    case Op.Invalidate:
      return "invalidate";
    case Op.Auth:
    case Op.AuthMechs:
      return "auth";
  }
}

/** Commands that may be sent again after a connection failure (DESIGN §6): never incr/decr/append/prepend/add/replace/cas. */
export function retryable(req: Request): boolean {
  switch (req.op) {
    case Op.Get:
    case Op.Gets:
    case Op.GetAndTouch:
    case Op.Touch:
    case Op.Delete:
    case Op.Fetch:
    case Op.Invalidate:
      return true;
    case Op.Store:
      return req.mode === 0 && req.cas === null;
    default:
      return false;
  }
}

/** Commands whose miss is a valid answer, for `failOpen`. */
export function isRead(op: Op): boolean {
  return op === Op.Get || op === Op.Gets || op === Op.GetAndTouch || op === Op.GetMany || op === Op.Fetch;
}

/** The miss that `failOpen` answers for a read. */
export function missOf(req: Request): unknown {
  if (req.op === Op.GetMany) return req.result; // the hits collected so far (none when never sent)
  if (req.op === Op.Fetch) {
    return {
      hasValue: false,
      value: undefined,
      cas: 0n,
      won: true,
      stale: false,
      claimed: false,
    } satisfies FetchReply;
  }
  return undefined;
}

/** Failures that mean the server could not be reached (as opposed to bad input or a server error). */
export function unreachable(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof TimeoutError || err instanceof QueueFullError;
}
