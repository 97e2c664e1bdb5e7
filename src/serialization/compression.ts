/**
 * Compression of big values (the `compression` option), a layer under the codec.
 *
 * A value whose encoded bytes reach `threshold` is compressed before it is stored, and kept compressed
 * only when that saves at least {@link MIN_SAVING} of its size; the client flags then carry the
 * algorithm in bits 4–5 (0x10 deflate in zlib format, 0x20 brotli), on top of the type bits. Reading
 * inflates whatever carries those bits, bounded by `maxDecompressedSize`.
 *
 * Synchronous on purpose: a compressed set is on the wire in call order with the calls made before and
 * after it (an async compressor would let a later `get` of the same key overtake it), and the cost is
 * paid only by values over the threshold (what it costs per size: the README's compression section).
 */
import { constants, brotliCompressSync, brotliDecompressSync, deflateSync, inflateSync } from "node:zlib";
import { InvalidArgumentError, SerializationError } from "../errors.js";

/** Client-flag bit of a value stored deflated (zlib format, RFC 1950). */
export const DEFLATED = 0x10;
/** Client-flag bit of a value stored brotli-compressed (RFC 7932). */
export const BROTLI = 0x20;
/** Both compression bits. */
export const COMPRESSION_MASK = DEFLATED | BROTLI;
/** A compressed form is kept only when it is at most this fraction of the original size. */
export const MIN_SAVING = 0.9;
/** Default bound on an inflated value, bytes. */
export const DEFAULT_MAX_DECOMPRESSED = 32 * 1024 * 1024;

/** The `compression` option. */
export interface CompressionOptions {
  /** Values of at least this many bytes (encoded) are compressed. Default 16,384. */
  threshold?: number | undefined;
  /** `"deflate"` (zlib format, readable by every language's zlib; the default) or `"brotli"`. */
  algorithm?: "deflate" | "brotli" | undefined;
  /** Compression level: deflate 1–9 (default 1, the fastest), brotli quality 0–11 (default 4). */
  level?: number | undefined;
  /**
   * Largest value accepted uncompressed, bytes: a longer one is not stored (`ValueTooLargeError`), and a
   * stored value that would inflate past it is not read (`SerializationError`). Default 32 MiB.
   */
  maxDecompressedSize?: number | undefined;
}

/** Compresses and inflates values for one client. */
export class Compressor {
  readonly threshold: number;
  readonly algorithm: "deflate" | "brotli";
  readonly level: number;
  readonly maxDecompressedSize: number;

  constructor(o: CompressionOptions) {
    if (o === null || typeof o !== "object") {
      throw new InvalidArgumentError("compression must be an object ({ threshold, algorithm, level })");
    }
    this.algorithm = o.algorithm ?? "deflate";
    if (this.algorithm !== "deflate" && this.algorithm !== "brotli") {
      throw new InvalidArgumentError('compression.algorithm must be "deflate" or "brotli"');
    }
    this.threshold = int("compression.threshold", o.threshold, 16_384, 1, 2 ** 31 - 1);
    this.level =
      this.algorithm === "deflate"
        ? int("compression.level", o.level, 1, 1, 9)
        : int("compression.level", o.level, 4, 0, 11);
    this.maxDecompressedSize = int(
      "compression.maxDecompressedSize",
      o.maxDecompressedSize,
      DEFAULT_MAX_DECOMPRESSED,
      1,
      2 ** 31 - 1,
    );
  }

  /** The compressed form of `data` and its flag bit, or null when compressing does not pay. */
  compress(data: Buffer): { data: Buffer; bit: number } | null {
    let out: Buffer;
    try {
      out =
        this.algorithm === "deflate"
          ? deflateSync(data, { level: this.level })
          : brotliCompressSync(data, {
              params: {
                [constants.BROTLI_PARAM_QUALITY]: this.level,
                [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
              },
            });
    } catch (err) {
      throw new SerializationError(`compression failed: ${(err as Error).message}`, { cause: err });
    }
    if (out.length > data.length * MIN_SAVING) return null;
    return { data: out, bit: this.algorithm === "deflate" ? DEFLATED : BROTLI };
  }
}

/**
 * Inflates `buf[start, end)` stored with compression bits `bits` (one of {@link DEFLATED}, {@link BROTLI}),
 * into at most `max` bytes. A corrupt stream or one that inflates past `max` is a `SerializationError`.
 */
export function inflate(buf: Buffer, start: number, end: number, bits: number, max: number): Buffer {
  const data = buf.subarray(start, end);
  try {
    return bits === DEFLATED
      ? inflateSync(data, { maxOutputLength: max })
      : brotliDecompressSync(data, { maxOutputLength: max });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "ERR_BUFFER_TOO_LARGE") {
      throw new SerializationError(
        `stored value inflates past maxDecompressedSize (${max} bytes); not read`,
        { cause: err },
      );
    }
    throw new SerializationError(
      `stored value is flagged ${bits === DEFLATED ? "deflate" : "brotli"}-compressed and does not inflate: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function int(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}
