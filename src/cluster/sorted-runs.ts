/**
 * A sort done in pieces, for a ring of a thousand servers built over several turns (`list-build.ts`):
 * each step sorts the points it hashed (a run), and the runs are then merged pairwise, a pass per
 * step. One sort of every point at the end would be one long turn.
 */

/**
 * Merges the sorted runs of `values` (run `r` is `[bounds[r], bounds[r + 1])`) into one, yielding
 * after each pass; returns the array that holds the result (`values` or a scratch array).
 */
export function* mergeRuns(
  values: Float64Array<ArrayBuffer>,
  bounds: number[],
): Generator<void, Float64Array<ArrayBuffer>> {
  let from = values;
  let to = new Float64Array(values.length);
  let runs = bounds;
  while (runs.length > 2) {
    yield;
    const merged = [0];
    for (let r = 0; r + 1 < runs.length; r += 2) {
      const hi = runs[r + 2] ?? runs[r + 1]!;
      mergeTwo(from, runs[r]!, runs[r + 1]!, hi, to);
      merged.push(hi);
    }
    [from, to] = [to, from];
    runs = merged;
  }
  return from;
}

/** Merges the sorted `from[lo, mid)` and `from[mid, hi)` into `to[lo, hi)`. */
function mergeTwo(from: Float64Array, lo: number, mid: number, hi: number, to: Float64Array): void {
  let i = lo;
  let j = mid;
  let k = lo;
  while (i < mid && j < hi) to[k++] = from[i]! <= from[j]! ? from[i++]! : from[j++]!;
  while (i < mid) to[k++] = from[i++]!;
  while (j < hi) to[k++] = from[j++]!;
}
