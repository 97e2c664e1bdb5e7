/**
 * The opaque of a meta request as sent (`O…`) and echoed: four characters of a 64-letter alphabet,
 * 24 bits. memcached copies the token back as it is, so any short token would do; this one is written
 * by four table lookups and read by four, where a decimal number took divisions to write and a digit
 * loop to read. It is always four letters, where the decimal counter had five digits after its first
 * ten thousand requests and nine later on. The connection's counter wraps at {@link OPAQUE_LIMIT}.
 */

/** Opaques are below this (24 bits). */
export const OPAQUE_LIMIT = 1 << 24;

/** Most keys one batch command may carry: each needs an opaque of its own, all of them below the limit. */
export const MAX_BATCH_KEYS = OPAQUE_LIMIT - 1;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
const LETTERS = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
/** Each byte's value in the alphabet, or -1. */
const VALUES = new Int8Array(256).fill(-1);
for (let i = 0; i < LETTERS.length; i++) VALUES[LETTERS[i]!] = i;

/** Writes the token of `v` (< {@link OPAQUE_LIMIT}) at `b[p…p+4)`. Caller has ensured room. */
export function writeOpaqueToken(b: Buffer, p: number, v: number): void {
  b[p] = LETTERS[(v >>> 18) & 63]!;
  b[p + 1] = LETTERS[(v >>> 12) & 63]!;
  b[p + 2] = LETTERS[(v >>> 6) & 63]!;
  b[p + 3] = LETTERS[v & 63]!;
}

/** The opaque whose token is `b[s, e)`, or -2 when it is not one (not four letters of the alphabet). */
export function readOpaqueToken(b: Buffer, s: number, e: number): number {
  if (e - s !== 4) return -2;
  const v0 = VALUES[b[s]!]!;
  const v1 = VALUES[b[s + 1]!]!;
  const v2 = VALUES[b[s + 2]!]!;
  const v3 = VALUES[b[s + 3]!]!;
  if ((v0 | v1 | v2 | v3) < 0) return -2;
  return (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
}
