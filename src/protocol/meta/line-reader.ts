/**
 * Reads any one reply line of the meta protocol, whole and without its CRLF, into a
 * {@link MetaReply}: a two-letter meta code and its flags, or a classic line (`STAT`, `VERSION`,
 * the errors). Every malformed line is a `ProtocolError` that quotes it. The parser's quick path
 * (`quick-reader.ts`) reads the common replies; this reader takes everything it leaves.
 */
import { ProtocolError } from "../../errors.js";
import { CLIENT_ERROR, END, ERROR, metaCode, OK, SERVER_ERROR, STAT, STORED, VA, VERSION } from "./codes.js";
import type { MetaReply } from "./reply.js";
import { readOpaqueToken } from "./opaque-token.js";

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

/** Empties every field a line sets, then points the reply at the line `b[s, e)`. */
function clearReply(r: MetaReply, b: Buffer, s: number, e: number): void {
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
}

/** Reads the line `b[s, e)` (without CRLF) into `r`; throws a `ProtocolError` if it is not a reply. */
export function readMetaLine(r: MetaReply, b: Buffer, s: number, e: number, maxValueSize: number): void {
  clearReply(r, b, s, e);
  const len = e - s;
  const after = len === 2 ? 13 : b[s + 2];
  if (len < 2 || (after !== 32 && after !== 13)) {
    readClassic(r, b, s, e);
    return;
  }
  const code = metaCode(b[s]!, b[s + 1]!);
  if (code < 0) {
    throw new ProtocolError(`unknown reply: ${JSON.stringify(b.toString("latin1", s, Math.min(e, s + 40)))}`);
  }
  r.code = code;
  if (code === OK) {
    // Anything after OK is ignored, but a CR or LF inside the line means the stream is not aligned.
    for (let k = s + 2; k < e; k++) {
      if (b[k] === 13 || b[k] === 10) throw new ProtocolError("reply line not terminated by \\r\\n");
    }
    r.argStart = e;
    return;
  }
  let i = s + 2;
  if (code === VA) {
    // VA <size>: the size is positional.
    if (after === 13) throw new ProtocolError("VA without a size");
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
    if (size > maxValueSize) {
      throw new ProtocolError(`VA size ${size} is over maxValueSize (${maxValueSize})`);
    }
    r.size = size;
  }
  readFlags(r, b, i, e);
}

/** A classic reply (`b[s, e)`, without CRLF): match its first word. */
function readClassic(r: MetaReply, b: Buffer, s: number, e: number): void {
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

/** Reads the flag tokens of `b[i, e)`: each letter as a bit, and the values of `O`, `f`, `c`, `k`, `t`. */
function readFlags(r: MetaReply, b: Buffer, i: number, e: number): void {
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
    while (j < e && b[j] !== 32 && b[j] !== 13 && b[j] !== 10) j++; // a stray CR or LF: a bad token next
    if (letter === 0x4f) {
      // O: a token as we send it; anything else cannot be one of ours.
      upper |= 1 << (0x4f - 65);
      r.opaque = readOpaqueToken(b, ts, j);
    } else if (letter >= 97 && letter <= 122) {
      lower |= 1 << (letter - 97);
      switch (letter) {
        case 0x66: // f: client flags
          r.clientFlags = digits(b, ts, j, "f");
          break;
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
