/**
 * Incremental parser of meta-protocol replies. Bytes in, {@link MetaReply} callbacks out; no socket,
 * no timer, no string split.
 *
 * A reply line is scanned once, finding its end included: its code from the first two bytes, then
 * each flag token's letter is recorded as a bit and the few flags the client reads (`O`, `f`, `c`,
 * `k`) are parsed straight from bytes. The callback gets one reused {@link MetaReply} whose offsets
 * point into the current buffer; it must copy what it keeps before returning.
 *
 * Data blocks and lines cut by a chunk's end are `line-parser.ts`'s (shared with the text protocol):
 * a partial line is joined to the next chunk, and a `VA` value that ends in a later chunk is assembled
 * in one buffer of exactly its size (a size bounded by `maxValueSize`) and handed out from there.
 */
import { ProtocolError } from "../../errors.js";
import {
  CLIENT_ERROR,
  EN,
  END,
  ERROR,
  EX,
  HD,
  MN,
  NF,
  NS,
  OK,
  SERVER_ERROR,
  STAT,
  STORED,
  VA,
  VERSION,
} from "./codes.js";
import { LineParser } from "../line-parser.js";
import { MetaReply } from "./reply.js";

export { MetaReply };
export { MAX_LINE } from "../line-parser.js";

// Classic reply words, as byte strings, for the lines that are not two-letter meta codes.
const WORDS: Array<[Buffer, number]> = [
  [Buffer.from("STAT"), STAT],
  [Buffer.from("END"), END],
  [Buffer.from("VERSION"), VERSION],
  [Buffer.from("ERROR"), ERROR],
  [Buffer.from("CLIENT_ERROR"), CLIENT_ERROR],
  [Buffer.from("SERVER_ERROR"), SERVER_ERROR],
  [Buffer.from("STORED"), STORED],
];

/** What `#line` returns when the bytes end before the line does. */
const PARTIAL = -1;
/** What `#line` returns for a line that is not a meta reply (a classic one: `STAT`, `VERSION`…). */
const CLASSIC = -2;

/** Parses a reply stream; see the module comment. */
export class MetaParser extends LineParser<MetaReply> {
  constructor(onReply: (reply: MetaReply) => void, maxValueSize: number) {
    super(new MetaReply(), onReply, maxValueSize);
  }

  /** The line at this offset of `reply.buf` was read by {@link MetaParser.findLine}; -1 when none was. */
  #readAt = -1;

  /**
   * Meta replies (a two-letter code) are read as they are scanned: one pass over the line, where
   * finding its end and then reading it would be two. Other lines are found the plain way.
   */
  protected override findLine(buf: Buffer, off: number, end: number): number {
    this.#readAt = -1;
    const cr = this.#line(buf, off, end, false);
    if (cr === CLASSIC) return super.findLine(buf, off, end);
    if (cr === PARTIAL) return -1;
    if (buf[cr] !== 13) throw new ProtocolError("reply line not terminated by \\r\\n");
    if (cr + 1 === end) return -1;
    if (buf[cr + 1] !== 10) throw new ProtocolError("reply line not terminated by \\r\\n");
    this.#readAt = off;
    return cr + 1;
  }

  /** Reads the line (unless `findLine` did); a `VA` line is followed by its value. */
  protected readLine(b: Buffer, s: number, e: number): number {
    if (this.#readAt !== s || this.reply.buf !== b) this.#line(b, s, e, true);
    this.#readAt = -1;
    return this.reply.code === VA ? this.reply.size : -1;
  }

  /**
   * Reads the line at `b[s…]` into `this.reply`. `whole`: the line is `b[s, limit)`, without its CRLF.
   * Otherwise it ends at the first `\r` (or a bare `\n`, which `findLine` refuses) before `limit`:
   * returns that index, {@link PARTIAL} when the bytes end first, or {@link CLASSIC} when it is not a
   * meta reply (left to the caller, unread).
   */
  #line(b: Buffer, s: number, limit: number, whole: boolean): number {
    const r = this.reply;
    // Stored only when it changed: the replies of a chunk share it, and each store of a new (young)
    // buffer into the long-lived reply costs a write barrier.
    if (r.buf !== b) r.buf = b;
    r.lineStart = s;
    r.lineEnd = limit;
    r.size = -1;
    r.opaque = -1;
    r.clientFlags = 0;
    r.ttlLeft = -2;
    r.casStart = -1;
    r.casEnd = -1;
    r.keyStart = -1;
    r.keyEnd = -1;
    r.upper = 0;
    r.lower = 0;
    r.valueStart = 0;
    r.valueEnd = 0;
    const len = limit - s;
    if (!whole && len < 3) return CLASSIC; // too short to tell (or an empty line): found the plain way
    const after = len === 2 ? 13 : b[s + 2]; // (only a whole line can be two bytes long)
    if (len < 2 || (after !== 32 && after !== 13)) {
      if (!whole) return CLASSIC;
      this.#classic(b, s, limit);
      return limit;
    }
    switch ((b[s]! << 8) | b[s + 1]!) {
      case 0x5641: // VA
        r.code = VA;
        break;
      case 0x4844: // HD
        r.code = HD;
        break;
      case 0x454e: // EN
        r.code = EN;
        break;
      case 0x4e53: // NS
        r.code = NS;
        break;
      case 0x4558: // EX
        r.code = EX;
        break;
      case 0x4e46: // NF
        r.code = NF;
        break;
      case 0x4d4e: // MN
        r.code = MN;
        break;
      case 0x4f4b: {
        // OK: anything after it is ignored.
        r.code = OK;
        let i = whole ? limit : s + 2;
        while (i < limit && b[i] !== 13 && b[i] !== 10) i++;
        if (i === limit && !whole) return PARTIAL;
        r.lineEnd = i;
        r.argStart = i;
        return i;
      }
      default:
        throw new ProtocolError(
          `unknown reply: ${JSON.stringify(b.toString("latin1", s, Math.min(limit, s + 40)))}`,
        );
    }
    let i = s + 2;
    if (r.code === VA) {
      // VA <size>: the size is positional.
      if (after === 13) throw new ProtocolError("VA without a size");
      i++;
      let size = 0;
      const start = i;
      for (; i < limit; i++) {
        const c = b[i]!;
        if (c === 32 || c === 13) break;
        if (c < 48 || c > 57) throw new ProtocolError("VA size is not a number");
        size = size * 10 + (c - 48);
      }
      if (i === limit && !whole) return PARTIAL;
      if (i === start) throw new ProtocolError("VA without a size");
      if (size > this.maxValueSize) {
        throw new ProtocolError(`VA size ${size} is over maxValueSize (${this.maxValueSize})`);
      }
      r.size = size;
    }
    const end = this.#flags(b, i, limit, whole);
    r.lineEnd = end;
    return end;
  }

  /** A classic reply (`b[s, e)`, without CRLF): match its first word. */
  #classic(b: Buffer, s: number, e: number): void {
    const r = this.reply;
    let w = s;
    while (w < e && b[w] !== 32) w++;
    for (const [word, code] of WORDS) {
      if (word.length === w - s && b.compare(word, 0, word.length, s, w) === 0) {
        r.code = code;
        r.argStart = w < e ? w + 1 : e;
        return;
      }
    }
    throw new ProtocolError(`unknown reply: ${JSON.stringify(b.toString("latin1", s, Math.min(e, s + 40)))}`);
  }

  /**
   * Scans flag tokens from `i` to the line's end (see `#line`, whose result it returns): one pass over
   * each token, numbers read as they are scanned.
   */
  #flags(b: Buffer, i: number, limit: number, whole: boolean): number {
    const r = this.reply;
    let upper = 0;
    let lower = 0;
    while (i < limit) {
      const letter = b[i]!;
      if (letter === 32) {
        i++;
        continue;
      }
      if ((letter === 13 || letter === 10) && !whole) break; // the line's end (a bare \n fails in findLine)
      const ts = i + 1;
      let j = ts;
      if (letter === 0x4f || letter === 0x66) {
        // O (opaque, as we send it) and f (client flags): decimal, read while scanning.
        let v = 0;
        let bad = false;
        for (; j < limit; j++) {
          const d = b[j]! - 48;
          if (d >= 0 && d <= 9) v = v * 10 + d;
          else if (d === -16 || d === -35 || d === -38)
            break; // a space, \r, \n
          else bad = true;
        }
        if (j === limit && !whole) return PARTIAL;
        if (letter === 0x4f) {
          upper |= 1 << (0x4f - 65);
          r.opaque = !bad && j > ts && j - ts <= 16 ? v : -2;
        } else {
          if (bad || j === ts || j - ts > 20) throw new ProtocolError("bad f flag in reply");
          lower |= 1 << (0x66 - 97);
          r.clientFlags = v;
        }
        i = j;
        continue;
      }
      for (; j < limit; j++) {
        const c = b[j]!;
        if (c === 32 || c === 13 || c === 10) break;
      }
      if (j === limit && !whole) return PARTIAL;
      if (letter >= 97 && letter <= 122) {
        lower |= 1 << (letter - 97);
        switch (letter) {
          case 0x63: // c: CAS, kept as offsets (read as bigint on demand)
            digits(b, ts, j, "c");
            r.casStart = ts;
            r.casEnd = j;
            break;
          case 0x6b: // k: key
            r.keyStart = ts;
            r.keyEnd = j;
            break;
          case 0x74: // t: remaining TTL, -1 when the item never expires
            r.ttlLeft = j - ts === 2 && b[ts] === 45 && b[ts + 1] === 49 ? -1 : digits(b, ts, j, "t");
            break;
        }
      } else if (letter >= 65 && letter <= 90) {
        upper |= 1 << (letter - 65);
      } else {
        throw new ProtocolError(`bad flag token in reply: ${JSON.stringify(b.toString("latin1", i, j))}`);
      }
      i = j;
    }
    if (i === limit && !whole) return PARTIAL;
    r.upper = upper;
    r.lower = lower;
    return i;
  }
}

/** Decimal digits in `b[s, e)` as a number (< 2^53); throws on anything else. */
function digits(b: Buffer, s: number, e: number, flag: string): number {
  if (s === e || e - s > 20) throw new ProtocolError(`bad ${flag} flag in reply`);
  let v = 0;
  for (let k = s; k < e; k++) {
    const c = b[k]!;
    if (c < 48 || c > 57) throw new ProtocolError(`bad ${flag} flag in reply`);
    v = v * 10 + (c - 48);
  }
  return v;
}
