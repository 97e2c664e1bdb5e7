/**
 * What a reply says, in words every protocol shares. Each parser's reply object (meta's
 * {@link MetaReply}, binary's {@link BinaryReply}, text's {@link TextReply}, whose table is in its own
 * file) reads its own wire form into this view, so the reply handlers of the client are written once.
 *
 *   kind           meta                         binary
 *   VALUE          VA (a value, a counter)      OK to a get-family or incr/decr request
 *   DONE           HD, OK                       OK to anything else
 *   NOT_FOUND      EN, NF                       key not found
 *   NOT_STORED     NS                           item not stored
 *   EXISTS         EX                           key exists (CAS mismatch)
 *   BATCH_END      MN                           Noop
 *   STAT / END     STAT … / END                 Stat with a key / with an empty key
 *   VERSION        VERSION …                    Version
 *   CLIENT_ERROR   CLIENT_ERROR …               invalid arguments, non-numeric, unknown command…
 *   SERVER_ERROR   SERVER_ERROR …               out of memory, too large, busy…
 *   AUTH_ERROR     —                            authentication required
 *   UNEXPECTED     ERROR, anything else         any other status
 */
import { ProtocolError } from "../errors.js";
import type { BinaryReply } from "./binary/parser.js";
import type { MetaReply } from "./meta/parser.js";
import type { TextReply } from "./text/reply.js";

/** The wire protocols a connection can speak. */
export type WireProtocol = "meta" | "binary" | "text";

export const VALUE = 1;
export const DONE = 2;
export const NOT_FOUND = 3;
export const NOT_STORED = 4;
export const EXISTS = 5;
export const BATCH_END = 6;
export const STAT = 7;
export const END = 8;
export const VERSION = 9;
export const CLIENT_ERROR = 10;
export const SERVER_ERROR = 11;
export const AUTH_ERROR = 12;
export const UNEXPECTED = 13;

/** The protocol-neutral view of a reply; valid only during the parser's callback. */
export interface ReplyView {
  /** One of the kinds above. */
  readonly kind: number;
  /** The opaque echoed (meta: -1 when absent). */
  readonly opaque: number;
  /**
   * The value: `value[valueStart, valueEnd)`; an empty range when the reply has none (`value` is then
   * any buffer).
   */
  readonly value: Buffer;
  readonly valueStart: number;
  readonly valueEnd: number;
  /**
   * The value's buffer is this reply's alone (assembled from several socket chunks, in one buffer of
   * its size): whoever decodes it may keep it without a copy. False when it is a socket chunk's.
   */
  readonly ownsValue: boolean;
  /** Client flags stored with the value. */
  readonly clientFlags: number;
  /** Remaining TTL told by a meta `t` flag, seconds (-1: never expires); -2 when not told (binary). */
  readonly ttlLeft: number;
  /** Meta flag letters `A`–`Z` as bits (`W`, `X`, `Z` of stale-while-revalidate); 0 in binary. */
  readonly upper: number;
  /** Whether this reply answers the request written with `opaque`. */
  answers(opaque: number): boolean;
  /** Whether a batch-ending reply closes the batch of `count` keys whose first opaque is `first`. */
  endsBatch(first: number, count: number): boolean;
  /** Whether a value reply carries the key `token` (as sent). */
  keyIs(token: string): boolean;
  /** Whether the reply names a key at all (binary GetKQ, text `VALUE`; meta only with `k`, which memcachio does not send). */
  hasKey(): boolean;
  /** Whether the reply carries a CAS token, and the token. */
  hasCas(): boolean;
  cas(): bigint;
  /** A counter's value (incr/decr); throws a `ProtocolError` when it is not a u64. */
  counter(): bigint;
  /** A `STAT` reply's name and value. */
  stat(): [string, string];
  /** The text a VERSION or error reply carries. */
  text(): string;
  /** The reply, for error messages (never the value). */
  line(): string;
  /** What an error reply says, for the error's message (`CLIENT_ERROR bad data chunk`). */
  message(): string;
  /**
   * After an error reply to a store, whether the stream may have lost its alignment (meta: the value
   * block may have been read as a command) — the connection must then be reset.
   */
  readonly storeErrorBreaksStream: boolean;
}

/** A parsed reply of any protocol (a connection speaks one). */
export type Reply = MetaReply | BinaryReply | TextReply;

/** A `STAT <name> <value>` line's text after `STAT`, as its name and value. */
export function statOf(text: string): [string, string] {
  const sp = text.indexOf(" ");
  return sp < 0 ? [text, ""] : [text.slice(0, sp), text.slice(sp + 1)];
}

/** An incr/decr result written in decimal (meta's value, text's line) as a u64; else a `ProtocolError`. */
export function counterOf(text: string): bigint {
  if (!/^\d{1,20}$/.test(text)) throw new ProtocolError(`incr/decr: ${JSON.stringify(text)} is not a number`);
  return BigInt(text);
}

/** Whether `buf[start, end)` holds exactly the chars of `token` (one byte each: a key as sent). */
export function bytesAre(buf: Buffer, start: number, end: number, token: string): boolean {
  const n = token.length;
  if (end - start !== n) return false;
  for (let i = 0; i < n; i++) if (buf[start + i] !== token.charCodeAt(i)) return false;
  return true;
}
