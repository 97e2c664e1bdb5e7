/**
 * Incremental parser of classic text-protocol replies. Bytes in, {@link TextReply} callbacks out; no
 * socket, no timer, no string split.
 *
 * A reply line's first word says what it is; a `VALUE` line's data block is read by the length in
 * its header, never by scanning for CRLF (data may hold any bytes). Finding lines and data blocks
 * across chunks is `line-parser.ts`'s, as for meta.
 */
import { ProtocolError } from "../../errors.js";
import { LineParser } from "../line-parser.js";
import { END, VALUE } from "../reply.js";
import { TEXT_WORDS, TextReply } from "./reply.js";

export { TextReply };
export { MAX_LINE } from "../line-parser.js";

/** The reply words as bytes, with their kinds. */
const WORDS = TEXT_WORDS.map(([word, kind]) => [Buffer.from(word, "latin1"), kind, word] as const);

/** Parses a reply stream; see the module comment. */
export class TextParser extends LineParser<TextReply> {
  constructor(onReply: (reply: TextReply) => void, maxValueSize: number) {
    super(new TextReply(), onReply, maxValueSize);
  }

  /** Reads the line; a `VALUE` line is followed by its data. */
  protected readLine(b: Buffer, s: number, e: number): number {
    this.#line(b, s, e);
    return this.reply.size;
  }

  /** Parses the line `b[s, e)` (without CRLF) into `this.reply`. */
  #line(b: Buffer, s: number, e: number): void {
    const r = this.reply;
    if (r.buf !== b) r.buf = b; // see meta/line-reader.ts: a write barrier per store
    r.lineStart = s;
    r.lineEnd = e;
    r.size = -1;
    r.valueStart = 0;
    r.valueEnd = 0;
    r.clientFlags = 0;
    r.keyStart = -1;
    r.keyEnd = -1;
    r.casStart = -1;
    r.casEnd = -1;
    const first = e > s ? b[s]! : 0;
    // The two hottest lines first: `VALUE …` and `END`.
    if (first === 0x56 && e - s > 6 && b[s + 5] === 32 && isValueWord(b, s)) {
      this.#value(b, s + 6, e);
      return;
    }
    if (first === 0x45 && e - s === 3 && b[s + 1] === 0x4e && b[s + 2] === 0x44) {
      r.kind = END;
      r.word = "END";
      r.argStart = e;
      return;
    }
    if (first >= 48 && first <= 57) {
      // incr/decr: the new value, a bare number (checked when read).
      r.kind = VALUE;
      r.word = "NUMBER";
      r.argStart = s;
      return;
    }
    let w = s;
    while (w < e && b[w] !== 32) w++;
    for (const [word, kind, name] of WORDS) {
      if (word.length === w - s && b.compare(word, 0, word.length, s, w) === 0) {
        r.kind = kind;
        r.word = name;
        r.argStart = w < e ? w + 1 : e;
        return;
      }
    }
    throw new ProtocolError(`unknown reply: ${JSON.stringify(b.toString("latin1", s, Math.min(e, s + 40)))}`);
  }

  /** `VALUE <key> <flags> <bytes> [<cas>]`, from the key on (`b[i, e)`). */
  #value(b: Buffer, i: number, e: number): void {
    const r = this.reply;
    r.kind = VALUE;
    r.word = "VALUE";
    r.argStart = i;
    let j = i;
    while (j < e && b[j] !== 32) j++;
    if (j === i || j === e) throw new ProtocolError("VALUE line without a key, flags and length");
    r.keyStart = i;
    r.keyEnd = j;
    i = j + 1;
    j = token(b, i, e);
    r.clientFlags = number(b, i, j, "flags");
    if (r.clientFlags > 0xffffffff) throw new ProtocolError("VALUE flags over 32 bits");
    i = j + 1;
    j = token(b, i, e);
    const size = number(b, i, j, "length");
    if (size > this.maxValueSize) {
      throw new ProtocolError(`VALUE length ${size} is over maxValueSize (${this.maxValueSize})`);
    }
    r.size = size;
    if (j === e) return;
    i = j + 1;
    j = token(b, i, e);
    if (j !== e) throw new ProtocolError("VALUE line has more than a CAS after its length");
    number(b, i, j, "CAS");
    r.casStart = i;
    r.casEnd = j;
  }
}

/** Whether `b[s, s + 5)` is `VALUE` (the first byte is checked by the caller). */
function isValueWord(b: Buffer, s: number): boolean {
  return b[s + 1] === 0x41 && b[s + 2] === 0x4c && b[s + 3] === 0x55 && b[s + 4] === 0x45;
}

/** End of the token starting at `i` (the next space, or `e`); throws when it is empty. */
function token(b: Buffer, i: number, e: number): number {
  if (i >= e) throw new ProtocolError("VALUE line cut short");
  let j = i;
  while (j < e && b[j] !== 32) j++;
  if (j === i) throw new ProtocolError("VALUE line with an empty field");
  return j;
}

/** Decimal digits in `b[s, e)` as a number (< 2^53); throws on anything else. */
function number(b: Buffer, s: number, e: number, what: string): number {
  if (e - s > 20) throw new ProtocolError(`VALUE ${what} is too long`);
  let v = 0;
  for (let k = s; k < e; k++) {
    const c = b[k]!;
    if (c < 48 || c > 57) throw new ProtocolError(`VALUE ${what} is not a number`);
    v = v * 10 + (c - 48);
  }
  return v;
}
