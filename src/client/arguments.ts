/**
 * Checks of the arguments callers pass (TTLs, 64-bit numbers, whole seconds), turned into the form
 * the wire wants; bad input is an `InvalidArgumentError` before anything is sent.
 */
import { InvalidArgumentError, UnsupportedError } from "../errors.js";
import { Op } from "../protocol/frame.js";
import type { ProxyKind } from "./wire-options.js";

/** An options type with every field given (optional fields accept an explicit `undefined`, which resolving replaces). */
export type Defined<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

/** Seconds in 30 days: memcached reads larger TTLs as absolute Unix times. */
const THIRTY_DAYS = 60 * 60 * 24 * 30;
/** Largest unsigned 64-bit value (CAS tokens, counters, deltas). */
export const U64_MAX = (1n << 64n) - 1n;

/**
 * Longest TTL or delay accepted, seconds (about 68 years): memcached's times are 32-bit, and a bounded
 * number keeps every command line within the room its encoder reserves.
 */
export const MAX_SECONDS = 2 ** 31 - 1;

/** TTL in seconds → memcached's form; -1 when not given. */
export function ttl(seconds: number | undefined): number {
  if (seconds === undefined) return -1;
  if (!(typeof seconds === "number" && Number.isInteger(seconds) && seconds >= 0 && seconds <= MAX_SECONDS)) {
    throw new InvalidArgumentError(
      `ttl must be an integer number of seconds from 0 to ${MAX_SECONDS}, got ${String(seconds)}`,
    );
  }
  if (seconds > THIRTY_DAYS) return Math.floor(Date.now() / 1000) + seconds;
  return seconds;
}

/** An option that must be a positive number: `v`, or `dflt` when not given. */
export function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0))
    throw new InvalidArgumentError(`${name} must be a positive number`);
  return v;
}

/** An option that must be a positive integer: `v`, or `dflt` when not given. */
export function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const n = positive(name, v, dflt);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
  return n;
}

/** An option that must be a boolean: `v`, or `dflt` when not given (a string "false" is not false). */
export function flag(name: string, v: boolean | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean")
    throw new InvalidArgumentError(`${name} must be true or false, got ${String(v)}`);
  return v;
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
  if (!(Number.isInteger(v) && v >= min && v <= MAX_SECONDS))
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${MAX_SECONDS} (seconds)`);
  return v;
}

/** The error of a command that needs the meta protocol, on a binary or text client. */
export function metaOnly(command: string, protocol: string): UnsupportedError {
  return new UnsupportedError(
    `${command} needs the meta protocol (its win/stale flags have no ${protocol} equivalent); this client uses protocol: "${protocol}"`,
  );
}

/**
 * Why each command kind is refused by a client of `proxy`, by {@link Op} (read by `CallBuilder.call`): twemproxy closes the
 * connection on a command it does not forward, so such a command is refused before it is sent.
 */
export function refusedCommands(proxy: ProxyKind | null): (string | undefined)[] {
  const refused: (string | undefined)[] = [];
  if (proxy === "twemproxy") {
    const notForwarded = (command: string, instead: string) =>
      `twemproxy does not forward ${command} (it would close the connection); ${instead}`;
    refused[Op.GetAndTouch] = notForwarded("gat", "use get, then touch");
    refused[Op.Stats] = notForwarded("stats", "ask the memcached servers behind it (or its own stats port)");
    refused[Op.Flush] = notForwarded("flush_all", "flush the memcached servers behind it directly");
  }
  return refused;
}
