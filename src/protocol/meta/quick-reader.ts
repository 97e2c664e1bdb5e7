/**
 * The meta parser's quick path: a common reply whole inside the chunk (a meta code, the flags the
 * client sends for, its CRLF and, for `VA`, its value and CRLF) read in one pass over its bytes.
 * Anything else gives -1 and is read again from its start by the general reader
 * (`line-reader.ts`): a line or value the chunk cuts off, a classic line, `OK`, a `t` flag, a second
 * space, any byte out of place. So this reader never throws, and every message about a malformed
 * reply comes from one place.
 */
import { metaCode, OK, VA } from "./codes.js";
import type { MetaReply } from "./reply.js";
import { readOpaqueToken } from "./opaque-token.js";

const O_BIT = 1 << (0x4f - 65);
const F_BIT = 1 << (0x66 - 97);
const C_BIT = 1 << (0x63 - 97);
const K_BIT = 1 << (0x6b - 97);

/**
 * Reads the reply at `b[s…]` into `r` when it is whole before `end` and plain; returns the offset
 * after it (after its value), or -1 when it leaves the reply to the general reader (`r` then holds
 * nothing of it that the general reader does not overwrite).
 */
export function readQuickReply(
  r: MetaReply,
  b: Buffer,
  s: number,
  end: number,
  maxValueSize: number,
): number {
  if (end - s < 4) return -1;
  const code = metaCode(b[s]!, b[s + 1]!);
  if (code < 0 || code === OK) return -1;
  let i = s + 2;
  let size = -1;
  if (code === VA) {
    if (b[i] !== 32) return -1;
    const start = ++i;
    size = 0;
    for (; i < end; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) break;
      size = size * 10 + d;
    }
    if (i === start || i - start > 15 || size > maxValueSize) return -1;
  }
  let opaque = -1;
  let clientFlags = 0;
  let casStart = -1;
  let casEnd = -1;
  let keyStart = -1;
  let keyEnd = -1;
  let upper = 0;
  let lower = 0;
  // Each flag is one space, its letter and its token; the line ends at the CR.
  while (i + 1 < end && b[i] === 32) {
    const letter = b[i + 1]!;
    const ts = i + 2;
    i = ts;
    if (letter === 0x4f) {
      // O: the opaque's token, four letters (see `opaque-token.ts`).
      opaque = i + 4 < end ? readOpaqueToken(b, ts, ts + 4) : -2;
      if (opaque < 0) return -1;
      i = ts + 4;
      upper |= O_BIT;
      continue;
    }
    if (letter === 0x66 || letter === 0x63) {
      // f (client flags), c (CAS): decimal.
      let v = 0;
      for (; i < end; i++) {
        const d = b[i]! - 48;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
      }
      if (i === ts || i - ts > 16) return -1;
      if (letter === 0x66) {
        lower |= F_BIT;
        clientFlags = v;
      } else {
        lower |= C_BIT;
        casStart = ts;
        casEnd = i;
      }
      continue;
    }
    while (i < end && b[i] !== 32 && b[i] !== 13 && b[i] !== 10) i++;
    if (letter >= 65 && letter <= 90) upper |= 1 << (letter - 65);
    else if (letter === 0x6b) {
      lower |= K_BIT;
      keyStart = ts;
      keyEnd = i;
    } else if (letter >= 97 && letter <= 122 && letter !== 0x74) lower |= 1 << (letter - 97);
    else return -1;
  }
  if (i + 1 >= end || b[i] !== 13 || b[i + 1] !== 10) return -1;
  const lineEnd = i;
  let next = i + 2;
  if (size >= 0) {
    const valueEnd = next + size;
    if (valueEnd + 2 > end || b[valueEnd] !== 13 || b[valueEnd + 1] !== 10) return -1;
    // Stored only when it changed: each store of a new (young) buffer into the long-lived reply
    // costs a write barrier.
    if (r.value !== b) r.value = b;
    r.valueStart = next;
    r.valueEnd = valueEnd;
    next = valueEnd + 2;
  } else {
    r.valueStart = 0;
    r.valueEnd = 0;
  }
  if (r.buf !== b) r.buf = b;
  r.code = code;
  r.lineStart = s;
  r.lineEnd = lineEnd;
  r.size = size;
  r.opaque = opaque;
  r.clientFlags = clientFlags;
  r.ttlLeft = -2;
  r.casStart = casStart;
  r.casEnd = casEnd;
  r.keyStart = keyStart;
  r.keyEnd = keyEnd;
  r.upper = upper;
  r.lower = lower;
  return next;
}
