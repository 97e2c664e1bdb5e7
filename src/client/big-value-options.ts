/**
 * The `bigValues` option: values over the item size stored as chunks (see `big-values.ts`).
 */
import { InvalidArgumentError } from "../errors.js";
import { flag, positiveInt } from "./arguments.js";

/** Values larger than memcached's item size, stored as chunks in mcrouter's BigValueRoute format. */
export interface BigValuesOptions {
  /**
   * A value whose encoded size (after the codec and compression) is over this many bytes is split into
   * chunks of at most this size. At most `maxValueSize`, which is the default.
   */
  threshold?: number | undefined;
  /** Largest encoded value stored or read, bytes; over it, `ValueTooLargeError`. Default 64 MiB. */
  maxSize?: number | undefined;
  /**
   * `delete` and `touch` first read the key and, when it holds a big value, also delete (after the
   * index) or touch (before it) its chunks. Default false: they reach the index alone, and the chunks
   * are left to expire with their TTL or to be evicted.
   */
  reachChunks?: boolean | undefined;
}

/** {@link BigValuesOptions} with every default applied. */
export interface ResolvedBigValues {
  readonly threshold: number;
  readonly maxSize: number;
  readonly reachChunks: boolean;
}

/** Default `bigValues.maxSize`: 64 MiB. */
export const DEFAULT_MAX_BIG_VALUE = 64 * 1024 * 1024;

/** Checks `bigValues` against `maxValueSize` and fills in the defaults (null: off). */
export function bigValuesOption(
  b: BigValuesOptions | false | undefined,
  maxValueSize: number,
): ResolvedBigValues | null {
  if (b === undefined || b === false) return null;
  if (b === null || typeof b !== "object") {
    throw new InvalidArgumentError("bigValues must be { threshold, maxSize, reachChunks } or false");
  }
  const threshold = positiveInt("bigValues.threshold", b.threshold, maxValueSize);
  if (threshold > maxValueSize) {
    throw new InvalidArgumentError(
      `bigValues.threshold is ${threshold}, over maxValueSize (${maxValueSize}): every chunk must be ` +
        "storable; lower the threshold or raise maxValueSize with memcached's item size (-I)",
    );
  }
  const maxSize = positiveInt("bigValues.maxSize", b.maxSize, DEFAULT_MAX_BIG_VALUE);
  if (maxSize < threshold) {
    throw new InvalidArgumentError(
      `bigValues.maxSize (${maxSize}) is below bigValues.threshold (${threshold})`,
    );
  }
  return Object.freeze({
    threshold,
    maxSize,
    reachChunks: flag("bigValues.reachChunks", b.reachChunks, false),
  });
}
