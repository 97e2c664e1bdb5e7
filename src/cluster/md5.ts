/**
 * MD5 (RFC 1321) in plain JavaScript, for ketama: the ring needs it once per key routed, on short
 * inputs, where `node:crypto` spends most of its time crossing into C++ and allocating the digest
 * (the two are compared in the README's bench section; `npm run bench:micro`, "ketama serverFor").
 * Not for security: MD5 is broken as a cryptographic hash, and ketama only needs its spread.
 *
 * Output is the digest as four little-endian 32-bit words (digest bytes 0-3, 4-7, 8-11, 12-15), which
 * is what ketama reads. The tests compare it with `node:crypto` over lengths 0-300, raw bytes and UTF-8.
 */

/** The digest of the last call: words 0-3 (signed; `>>> 0` for the unsigned value). Reused. */
const STATE = new Int32Array(4);
/** One 64-byte block as sixteen little-endian words. Reused. */
const BLOCK = new Int32Array(16);

/**
 * MD5 of `key`'s UTF-8 bytes (a string) or of its bytes (a Buffer). Returns a shared array holding the
 * digest's four little-endian words, valid until the next call.
 */
export function md5Words(key: string | Buffer): Int32Array {
  if (typeof key === "string" && key.length < 56) {
    // Fast path for short ASCII strings (most keys): one block, filled straight from the chars.
    const n = key.length;
    BLOCK.fill(0);
    let i = 0;
    for (; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) break;
      BLOCK[i >> 2]! |= c << ((i & 3) << 3);
    }
    if (i === n) {
      BLOCK[n >> 2]! |= 0x80 << ((n & 3) << 3);
      BLOCK[14] = n << 3;
      start();
      compress(STATE, BLOCK);
      return STATE;
    }
  }
  return bytes(typeof key === "string" ? Buffer.from(key, "utf8") : key);
}

function start(): void {
  STATE[0] = 0x67452301;
  STATE[1] = 0xefcdab89 | 0;
  STATE[2] = 0x98badcfe | 0;
  STATE[3] = 0x10325476;
}

function bytes(b: Buffer): Int32Array {
  start();
  const n = b.length;
  let i = 0;
  for (; i + 64 <= n; i += 64) {
    for (let j = 0; j < 16; j++) {
      const p = i + j * 4;
      BLOCK[j] = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
    }
    compress(STATE, BLOCK);
  }
  // The tail, the 0x80 marker and the bit length (in one block, or two when the tail is 56+ bytes).
  BLOCK.fill(0);
  const rest = n - i;
  for (let j = 0; j < rest; j++) BLOCK[j >> 2]! |= b[i + j]! << ((j & 3) << 3);
  BLOCK[rest >> 2]! |= 0x80 << ((rest & 3) << 3);
  if (rest >= 56) {
    compress(STATE, BLOCK);
    BLOCK.fill(0);
  }
  BLOCK[14] = n << 3;
  BLOCK[15] = Math.floor(n / 0x20000000);
  compress(STATE, BLOCK);
  return STATE;
}

/**
 * The MD5 compression function over one block, unrolled: step i adds F/G/H/I of the other three
 * words, the message word of RFC 1321's schedule and K[i] = floor(|sin(i + 1)| · 2^32), rotates by
 * the round's shift and adds the next word. Sums of four 32-bit values stay exact in a double;
 * `| 0` takes them mod 2^32.
 */
function compress(st: Int32Array, x: Int32Array): void {
  let a = st[0]!;
  let b = st[1]!;
  let c = st[2]!;
  let d = st[3]!;
  let t = 0;
  const w0 = x[0]!;
  const w1 = x[1]!;
  const w2 = x[2]!;
  const w3 = x[3]!;
  const w4 = x[4]!;
  const w5 = x[5]!;
  const w6 = x[6]!;
  const w7 = x[7]!;
  const w8 = x[8]!;
  const w9 = x[9]!;
  const w10 = x[10]!;
  const w11 = x[11]!;
  const w12 = x[12]!;
  const w13 = x[13]!;
  const w14 = x[14]!;
  const w15 = x[15]!;
  t = (a + ((b & c) | (~b & d)) + w0 + 0xd76aa478) | 0;
  a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + w1 + 0xe8c7b756) | 0;
  d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + w2 + 0x242070db) | 0;
  c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + w3 + 0xc1bdceee) | 0;
  b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + w4 + 0xf57c0faf) | 0;
  a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + w5 + 0x4787c62a) | 0;
  d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + w6 + 0xa8304613) | 0;
  c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + w7 + 0xfd469501) | 0;
  b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + w8 + 0x698098d8) | 0;
  a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + w9 + 0x8b44f7af) | 0;
  d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + w10 + 0xffff5bb1) | 0;
  c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + w11 + 0x895cd7be) | 0;
  b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & c) | (~b & d)) + w12 + 0x6b901122) | 0;
  a = (b + ((t << 7) | (t >>> 25))) | 0;
  t = (d + ((a & b) | (~a & c)) + w13 + 0xfd987193) | 0;
  d = (a + ((t << 12) | (t >>> 20))) | 0;
  t = (c + ((d & a) | (~d & b)) + w14 + 0xa679438e) | 0;
  c = (d + ((t << 17) | (t >>> 15))) | 0;
  t = (b + ((c & d) | (~c & a)) + w15 + 0x49b40821) | 0;
  b = (c + ((t << 22) | (t >>> 10))) | 0;
  t = (a + ((b & d) | (c & ~d)) + w1 + 0xf61e2562) | 0;
  a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + w6 + 0xc040b340) | 0;
  d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + w11 + 0x265e5a51) | 0;
  c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + w0 + 0xe9b6c7aa) | 0;
  b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + w5 + 0xd62f105d) | 0;
  a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + w10 + 0x02441453) | 0;
  d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + w15 + 0xd8a1e681) | 0;
  c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + w4 + 0xe7d3fbc8) | 0;
  b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + w9 + 0x21e1cde6) | 0;
  a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + w14 + 0xc33707d6) | 0;
  d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + w3 + 0xf4d50d87) | 0;
  c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + w8 + 0x455a14ed) | 0;
  b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + ((b & d) | (c & ~d)) + w13 + 0xa9e3e905) | 0;
  a = (b + ((t << 5) | (t >>> 27))) | 0;
  t = (d + ((a & c) | (b & ~c)) + w2 + 0xfcefa3f8) | 0;
  d = (a + ((t << 9) | (t >>> 23))) | 0;
  t = (c + ((d & b) | (a & ~b)) + w7 + 0x676f02d9) | 0;
  c = (d + ((t << 14) | (t >>> 18))) | 0;
  t = (b + ((c & a) | (d & ~a)) + w12 + 0x8d2a4c8a) | 0;
  b = (c + ((t << 20) | (t >>> 12))) | 0;
  t = (a + (b ^ c ^ d) + w5 + 0xfffa3942) | 0;
  a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + w8 + 0x8771f681) | 0;
  d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + w11 + 0x6d9d6122) | 0;
  c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + w14 + 0xfde5380c) | 0;
  b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + w1 + 0xa4beea44) | 0;
  a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + w4 + 0x4bdecfa9) | 0;
  d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + w7 + 0xf6bb4b60) | 0;
  c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + w10 + 0xbebfbc70) | 0;
  b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + w13 + 0x289b7ec6) | 0;
  a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + w0 + 0xeaa127fa) | 0;
  d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + w3 + 0xd4ef3085) | 0;
  c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + w6 + 0x04881d05) | 0;
  b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (b ^ c ^ d) + w9 + 0xd9d4d039) | 0;
  a = (b + ((t << 4) | (t >>> 28))) | 0;
  t = (d + (a ^ b ^ c) + w12 + 0xe6db99e5) | 0;
  d = (a + ((t << 11) | (t >>> 21))) | 0;
  t = (c + (d ^ a ^ b) + w15 + 0x1fa27cf8) | 0;
  c = (d + ((t << 16) | (t >>> 16))) | 0;
  t = (b + (c ^ d ^ a) + w2 + 0xc4ac5665) | 0;
  b = (c + ((t << 23) | (t >>> 9))) | 0;
  t = (a + (c ^ (b | ~d)) + w0 + 0xf4292244) | 0;
  a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + w7 + 0x432aff97) | 0;
  d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + w14 + 0xab9423a7) | 0;
  c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + w5 + 0xfc93a039) | 0;
  b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + w12 + 0x655b59c3) | 0;
  a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + w3 + 0x8f0ccc92) | 0;
  d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + w10 + 0xffeff47d) | 0;
  c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + w1 + 0x85845dd1) | 0;
  b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + w8 + 0x6fa87e4f) | 0;
  a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + w15 + 0xfe2ce6e0) | 0;
  d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + w6 + 0xa3014314) | 0;
  c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + w13 + 0x4e0811a1) | 0;
  b = (c + ((t << 21) | (t >>> 11))) | 0;
  t = (a + (c ^ (b | ~d)) + w4 + 0xf7537e82) | 0;
  a = (b + ((t << 6) | (t >>> 26))) | 0;
  t = (d + (b ^ (a | ~c)) + w11 + 0xbd3af235) | 0;
  d = (a + ((t << 10) | (t >>> 22))) | 0;
  t = (c + (a ^ (d | ~b)) + w2 + 0x2ad7d2bb) | 0;
  c = (d + ((t << 15) | (t >>> 17))) | 0;
  t = (b + (d ^ (c | ~a)) + w9 + 0xeb86d391) | 0;
  b = (c + ((t << 21) | (t >>> 11))) | 0;
  st[0] = (st[0]! + a) | 0;
  st[1] = (st[1]! + b) | 0;
  st[2] = (st[2]! + c) | 0;
  st[3] = (st[3]! + d) | 0;
}
