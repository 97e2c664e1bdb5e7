/**
 * What every bench script shares: a loop that keeps N calls in flight, and the median.
 */

/**
 * Keeps `concurrency` calls of `op` in flight for `ms` and returns successful calls per second.
 * `op(i)` gets a running index; a rejected call is passed to `onError` (default: rethrown).
 */
export async function concurrent(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  ms: number,
  onError: (err: unknown) => void = (err) => {
    throw err;
  },
): Promise<number> {
  let stop = false;
  let ops = 0;
  const timer = setTimeout(() => {
    stop = true;
  }, ms);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = w; !stop; i += concurrency) {
        try {
          await op(i);
          ops++;
        } catch (err) {
          onError(err);
        }
      }
    }),
  );
  clearTimeout(timer);
  return (ops / (performance.now() - t0)) * 1000;
}

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
