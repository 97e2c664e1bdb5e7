/**
 * Incremental parser of meta-protocol replies. Bytes in, {@link MetaReply} callbacks out; no socket,
 * no timer, no string split.
 *
 * A reply line is scanned once: its code from the first two bytes, then each flag token's letter is
 * recorded as a bit and the few flags the client reads (`O`, `f`, `c`, `k`) are parsed
 * straight from bytes. The callback gets one reused {@link MetaReply} whose offsets point into the
 * current buffer; it must copy what it keeps before returning.
 *
 * Finding lines and data blocks across chunks is `line-parser.ts`'s (shared with the text protocol):
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

/** Parses a reply stream; see the module comment. */
export class MetaParser extends LineParser<MetaReply> {
  constructor(onReply: (reply: MetaReply) => void, maxValueSize: number) {
    super(new MetaReply(), onReply, maxValueSize);
  }

  /** Reads the line; a `VA` line is followed by its value. */
  protected readLine(b: Buffer, s: number, e: number): number {
    this.#header(b, s, e);
    return this.reply.code === VA ? this.reply.size : -1;
  }

  /** Parses the line `b[s, e)` (without CRLF) into `this.reply`. */
  #header(b: Buffer, s: number, e: number): void {
    const r = this.reply;
    // Stored only when it changed: the replies of a chunk share it, and each store of a new (young)
    // buffer into the long-lived reply costs a write barrier.
    if (r.buf !== b) r.buf = b;
    r.lineStart = s;
    r.lineEnd = e;
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
    const len = e - s;
    if (len >= 2 && (len === 2 || b[s + 2] === 32)) {
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
        case 0x4f4b: // OK
          r.code = OK;
          r.argStart = e;
          return;
        default:
          throw new ProtocolError(
            `unknown reply: ${JSON.stringify(b.toString("latin1", s, Math.min(e, s + 40)))}`,
          );
      }
      let i = s + 2;
      if (r.code === VA) {
        // VA <size>: the size is positional.
        i++;
        let size = 0;
        const start = i;
        for (; i < e; i++) {
          const c = b[i]!;
          if (c === 32) break;
          if (c < 48 || c > 57) throw new ProtocolError("VA size is not a number");
          size = size * 10 + (c - 48);
        }
        if (i === start) throw new ProtocolError("VA without a size");
        if (size > this.maxValueSize) {
          throw new ProtocolError(`VA size ${size} is over maxValueSize (${this.maxValueSize})`);
        }
        r.size = size;
      }
      this.#flags(b, i, e);
      return;
    }
    // Classic reply: match its first word.
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

  /** Scans flag tokens in `b[i, e)`: one pass over each token, numbers read as they are scanned. */
  #flags(b: Buffer, i: number, e: number): void {
    const r = this.reply;
    let upper = 0;
    let lower = 0;
    while (i < e) {
      const letter = b[i]!;
      if (letter === 32) {
        i++;
        continue;
      }
      const ts = i + 1;
      let j = ts;
      if (letter === 0x4f || letter === 0x66) {
        // O (opaque, as we send it) and f (client flags): decimal, read while scanning.
        let v = 0;
        let bad = false;
        for (; j < e; j++) {
          const d = b[j]! - 48;
          if (d === -16) break; // a space
          if (d < 0 || d > 9) bad = true;
          v = v * 10 + d;
        }
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
      while (j < e && b[j] !== 32) j++;
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
    r.upper = upper;
    r.lower = lower;
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
