/**
 * What every bench script shares: the keys read, their loading, a loop that keeps N calls in flight,
 * and the median.
 */
import type { Client } from "../src/index.ts";

/** 10,000 fixed-length keys (`bench:get:00042`), each holding a 100-byte string once loaded. */
export const BENCH_KEYS = Array.from({ length: 10_000 }, (_, i) => `bench:get:${String(i).padStart(5, "0")}`);

/** The value every bench key holds: a plain string (flags 0), which every client's default codec reads. */
export const BENCH_VALUE = "a".repeat(100);

/** Stores the 100-byte value of every bench key, 500 at a time. */
export async function loadBenchKeys(client: Client): Promise<void> {
  for (let i = 0; i < BENCH_KEYS.length; i += 500) {
    await Promise.all(BENCH_KEYS.slice(i, i + 500).map((k) => client.set(k, BENCH_VALUE)));
  }
}

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

/** The median of `xs` (of an even count, the mean of the two middle values). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
