/**
 * Sorting a ring's points: by value, and points of equal value by server (libmemcached's
 * tie-break). The points come in server order, server by server, so a stable sort by value gives
 * that tie-break by itself.
 *
 * A long list's points are sorted by a stable radix sort, one digit per pass: its work grows with
 * the points and no faster (a comparison sort of a thousand servers' continuum was most of the time
 * the list took to build), and a ring built over several turns (`list-build.ts`) takes one turn per
 * pass. A short list's points are sorted by comparison at once, which costs less than the passes'
 * tables.
 */

/** Lists of this many points or more are sorted by radix. */
export const RADIX_FROM = 4096;

/** The digits of a 32-bit value, low first: three passes, tables of at most 2,048 entries. */
const DIGIT_BITS = [11, 11, 10] as const;

/** Points: their values and, at the same positions, their servers' indexes. */
export type Points = { values: Uint32Array<ArrayBuffer>; owners: Uint16Array<ArrayBuffer> };

/**
 * `points` sorted (see the module's doc): these arrays or new ones. With `inPieces`, a long list's
 * sort yields before each of its passes.
 */
export function* sortPoints(points: Points, inPieces: boolean): Generator<void, Points> {
  if (points.values.length < RADIX_FROM) return sortByComparison(points);
  return yield* sortByRadix(points, inPieces);
}

/** `points` sorted by one comparison sort of `value × 2^16 + owner` (both fit a double's 53 bits). */
export function sortByComparison({ values, owners }: Points): Points {
  const n = values.length;
  const keyed = new Float64Array(n);
  for (let i = 0; i < n; i++) keyed[i] = values[i]! * 0x10000 + owners[i]!;
  keyed.sort();
  for (let i = 0; i < n; i++) {
    const v = keyed[i]!;
    owners[i] = v % 0x10000;
    values[i] = (v - owners[i]!) / 0x10000;
  }
  return { values, owners };
}

/** `points` sorted by a stable radix sort, a digit per pass, low digit first. */
export function* sortByRadix(points: Points, inPieces = false): Generator<void, Points> {
  const n = points.values.length;
  let from = points;
  let to: Points = { values: new Uint32Array(n), owners: new Uint16Array(n) };
  let shift = 0;
  for (const bits of DIGIT_BITS) {
    if (inPieces) yield;
    radixPass(from, to, shift, bits);
    shift += bits;
    [from, to] = [to, from];
  }
  return from;
}

/** Moves `from` into `to` ordered by the digit of `bits` bits at `shift`, stably. */
function radixPass(from: Points, to: Points, shift: number, bits: number): void {
  const mask = (1 << bits) - 1;
  const { values, owners } = from;
  const n = values.length;
  // Each digit's count, then where its first point goes: the counts of the digits below it.
  const starts = new Uint32Array(mask + 1);
  for (let i = 0; i < n; i++) starts[(values[i]! >>> shift) & mask]!++;
  for (let d = 0, sum = 0; d <= mask; d++) {
    const count = starts[d]!;
    starts[d] = sum;
    sum += count;
  }
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const at = starts[(v >>> shift) & mask]!++;
    to.values[at] = v;
    to.owners[at] = owners[i]!;
  }
}
