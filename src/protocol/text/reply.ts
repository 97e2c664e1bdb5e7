/**
 * One parsed reply of the classic text protocol, and what it says in the protocol-neutral words of
 * `../reply.ts`. The parser reuses one object: its offsets point into the buffer being parsed, valid
 * only during the callback.
 *
 *   kind           text
 *   VALUE          VALUE <key> <flags> <bytes> [<cas>] + data; a bare number (incr/decr)
 *   DONE           STORED, DELETED, TOUCHED, OK
 *   NOT_FOUND      NOT_FOUND
 *   NOT_STORED     NOT_STORED
 *   EXISTS         EXISTS
 *   END            END (of a get, of stats)
 *   STAT, VERSION  STAT …, VERSION …
 *   errors         CLIENT_ERROR …, SERVER_ERROR …; ERROR is UNEXPECTED
 *
 * The text protocol has no opaque: a reply answers the request at the head of the FIFO, and the
 * handlers check what can be checked (a `VALUE`'s key against the key asked).
 */
import { ProtocolError } from "../../errors.js";
import * as K from "../reply.js";
import { bytesAre, counterOf, type ReplyView, statOf } from "../reply.js";

const EMPTY = Buffer.alloc(0);

export class TextReply implements ReplyView {
  /** A refused `set` may leave its data block to be read as a command (a malformed command line). */
  readonly storeErrorBreaksStream = true;
  /** No opaque in this protocol. */
  readonly opaque = -1;
  /** No remaining TTL in this protocol. */
  readonly ttlLeft = -2;
  /** No meta flags in this protocol. */
  readonly upper = 0;
  /** The protocol-neutral kind (see `reply.ts`). */
  kind = 0;
  /** The reply's first word, for messages. */
  word = "";
  /** Buffer holding the reply line. */
  buf: Buffer = EMPTY;
  lineStart = 0;
  /** End of the line, before `\r\n`. */
  lineEnd = 0;
  /** Start of the text after the first word (error message, stat, version). */
  argStart = 0;
  /** `VALUE` data size; -1 for a line without data. */
  size = -1;
  /** `VALUE` data: `value[valueStart, valueEnd)`. */
  value: Buffer = EMPTY;
  valueStart = 0;
  valueEnd = 0;
  /** The value's buffer is this reply's alone (see `ReplyView`). */
  ownsValue = false;
  /** `VALUE` client flags (u32). */
  clientFlags = 0;
  /** `VALUE` key token bounds in `buf`. */
  keyStart = -1;
  keyEnd = -1;
  /** `VALUE` CAS token bounds in `buf` (`gets`, `gats`), -1 when absent. */
  casStart = -1;
  casEnd = -1;

  /** FIFO order is the pairing: every reply answers the head. */
  answers(_opaque: number): boolean {
    return true;
  }

  endsBatch(_first: number, _count: number): boolean {
    return true;
  }

  keyIs(token: string): boolean {
    return this.keyStart >= 0 && bytesAre(this.buf, this.keyStart, this.keyEnd, token);
  }

  hasKey(): boolean {
    return this.keyStart >= 0;
  }

  /** The whole key token of a `VALUE` line. */
  keyText(): string {
    return this.keyStart < 0 ? "" : this.buf.toString("latin1", this.keyStart, this.keyEnd);
  }

  /** The key token of a `VALUE` line, for messages. */
  key(): string {
    return this.keyStart < 0
      ? ""
      : this.buf.toString("latin1", this.keyStart, Math.min(this.keyEnd, this.keyStart + 60));
  }

  hasCas(): boolean {
    return this.casStart >= 0;
  }

  cas(): bigint {
    if (this.casStart < 0) return 0n;
    return BigInt(this.buf.toString("latin1", this.casStart, this.casEnd));
  }

  /** incr/decr: the number on the line. */
  counter(): bigint {
    if (this.size >= 0) throw new ProtocolError("incr/decr: a VALUE reply instead of a number");
    return counterOf(this.buf.toString("latin1", this.lineStart, this.lineEnd));
  }

  stat(): [string, string] {
    return statOf(this.text());
  }

  text(): string {
    return this.buf.toString("latin1", this.argStart, this.lineEnd);
  }

  line(): string {
    return this.buf.toString("latin1", this.lineStart, Math.min(this.lineEnd, this.lineStart + 200));
  }

  message(): string {
    return this.line();
  }

  /** The reply's first word (`STORED`, `VALUE`…), or `NUMBER` for an incr/decr result. */
  name(): string {
    return this.word;
  }
}

/** Reply words, by the kind each one means. */
export const TEXT_WORDS: ReadonlyArray<readonly [string, number]> = [
  ["END", K.END],
  ["STORED", K.DONE],
  ["NOT_FOUND", K.NOT_FOUND],
  ["NOT_STORED", K.NOT_STORED],
  ["EXISTS", K.EXISTS],
  ["DELETED", K.DONE],
  ["TOUCHED", K.DONE],
  ["OK", K.DONE],
  ["STAT", K.STAT],
  ["VERSION", K.VERSION],
  ["ERROR", K.UNEXPECTED],
  ["CLIENT_ERROR", K.CLIENT_ERROR],
  ["SERVER_ERROR", K.SERVER_ERROR],
];
