/**
 * Values ↔ bytes + client flags.
 *
 * The default codec stores strings and Buffers as their raw bytes, so any other client reads them,
 * and marks the type in the low bits of the 32-bit client flags:
 *
 * | flags | stored as                  | read back as |
 * |-------|----------------------------|--------------|
 * | 0     | UTF-8 bytes of a string    | `string`     |
 * | 1     | raw bytes (Buffer, Uint8Array) | `Buffer` |
 * | 2     | JSON text (UTF-8)          | parsed JSON  |
 * | 3     | decimal text of a number   | `number`     |
 * | 4     | decimal text of a bigint   | `bigint`     |
 *
 * Bits 4–5 mark a compressed value (0x10 deflate, 0x20 brotli; see `compression.ts`) on top of these
 * type bits, bits 6–31 are reserved (with `bigValues` on, bit 15, 0x8000, marks the index item of a
 * value stored as chunks: mcrouter's flag, see `client/big-value-format.ts`). A value written with flags that are not in this table (by another
 * client) reads back as a `Buffer`, and so does one with a compression bit whose other bits are not one
 * of these types. Counters made by `incr`/`decr` have the
 * flags they were created with (0 when created by `incr … { initial }`): they read back as strings.
 */
import { isAscii as bytesAreAscii } from "node:buffer";
import { SerializationError, ValueTooLargeError } from "../errors.js";
import { droppedView, type PooledBytes } from "../protocol/pooled-bytes.js";
import { ByteCopies } from "./byte-copies.js";
import { unfaithfulToJson } from "./json-check.js";
import { COMPRESSION_MASK, type Compressor, DEFAULT_MAX_DECOMPRESSED, inflate } from "./compression.js";

/** A user codec: turns values into bytes plus client flags and back. */
export interface Codec {
  /** Encodes a value into the bytes and client flags to store. */
  encode(value: unknown): {
    /** The bytes to store; a string is stored as its UTF-8 bytes. */
    data: Buffer | string;
    /** Client flags stored with the item and handed back to `decode` (u32). */
    flags: number;
  };
  /** Decodes bytes read from the server (the Buffer is the caller's to keep). */
  decode(data: Buffer, flags: number): unknown;
}

/** Client-flag values of the default codec. */
export const Flags = {
  /** A string, stored as its UTF-8 bytes; read back as a `string`. */
  STRING: 0,
  /** A Buffer or Uint8Array, stored as its raw bytes; read back as a `Buffer`. */
  BYTES: 1,
  /** Any other value, stored as JSON text; read back parsed. */
  JSON: 2,
  /** A number, stored as its decimal text; read back as a `number`. */
  NUMBER: 3,
  /** A bigint, stored as its decimal text; read back as a `bigint`. */
  BIGINT: 4,
} as const;

/** Mask of the type bits in the client flags. */
const TYPE_MASK = 0x0f;

/**
 * Encodes and decodes values for one client. After {@link ValueCodec.encode}, the fields `data`,
 * `length` and `flags` hold the result (no object is allocated per value on the default path).
 */
export class ValueCodec {
  data: string | Buffer = "";
  /** Byte length of `data`. */
  length = 0;
  flags = 0;
  /**
   * The pooled memory `data` is a copy in (see `byte-copies.ts`), held once for whoever sends it: given
   * back once nothing will write it again, or never. Null when `data` is not pooled.
   */
  pooled: PooledBytes | null = null;
  readonly #user: Codec | null;
  /** Null when Buffers are handed over as they are (`copyBuffers: false`). */
  readonly #copies: ByteCopies | null;
  readonly #compressor: Compressor | null;
  /** Bound on an inflated value (the compressor's, or the default when compression is off). */
  readonly #maxInflated: number;

  constructor(user: Codec | null = null, compressor: Compressor | null = null, copyBuffers = true) {
    this.#user = user;
    this.#copies = copyBuffers ? new ByteCopies() : null;
    this.#compressor = compressor;
    this.#maxInflated = compressor?.maxDecompressedSize ?? DEFAULT_MAX_DECOMPRESSED;
  }

  /**
   * Encodes `value` into `data`, `length` and `flags`. With compression configured and `compress` true,
   * a value of at least the threshold is stored compressed when that pays (never for append/prepend
   * fragments, which memcached glues to bytes stored earlier).
   */
  encode(value: unknown, compress = false): void {
    this.#encode(value);
    const c = this.#compressor;
    if (c === null) return;
    if ((this.flags & COMPRESSION_MASK) !== 0) {
      throw new SerializationError(
        `codec.encode returned flags ${this.flags}: bits 0x30 mark compression when it is on`,
      );
    }
    if (!compress || this.length < c.threshold) return;
    if (this.length > c.maxDecompressedSize) {
      throw new ValueTooLargeError(
        `value is ${this.length} bytes encoded; compression.maxDecompressedSize is ${c.maxDecompressedSize}: ` +
          "store less or raise compression.maxDecompressedSize",
      );
    }
    const raw = typeof this.data === "string" ? Buffer.from(this.data, "utf8") : this.data;
    const out = c.compress(raw);
    if (out === null) return;
    // The copy is not sent: its memory can go back at once.
    this.pooled?.release();
    this.pooled = null;
    this.data = out.data;
    this.length = out.data.length;
    this.flags |= out.bit;
  }

  #encode(value: unknown): void {
    this.pooled = null;
    if (this.#user !== null) {
      let out: { data: Buffer | string; flags: number };
      try {
        out = this.#user.encode(value);
      } catch (err) {
        throw new SerializationError(`codec.encode failed: ${(err as Error).message}`, { cause: err });
      }
      if (
        out === null ||
        typeof out !== "object" ||
        !(typeof out.data === "string" || Buffer.isBuffer(out.data))
      ) {
        throw new SerializationError("codec.encode must return { data: string | Buffer, flags }");
      }
      // A codec may hand back the caller's own buffer: copied (unless handed over), as below.
      if (typeof out.data === "string") this.#set(out.data, out.flags >>> 0);
      else this.#setCopy(out.data, out.flags >>> 0);
      return;
    }
    switch (typeof value) {
      case "string":
        this.data = value;
        this.length = value.length < 64 && isAscii(value) ? value.length : Buffer.byteLength(value, "utf8");
        this.flags = Flags.STRING;
        return;
      case "number":
        this.#set(String(value), Flags.NUMBER);
        return;
      case "bigint":
        this.#set(value.toString(), Flags.BIGINT);
        return;
      case "undefined":
      case "function":
      case "symbol":
        throw new SerializationError(`cannot store a value of type ${typeof value}`);
    }
    // Bytes are copied (unless handed over): what is stored is the value as it was when the call was
    // made, whatever the caller does with its buffer before the request is written.
    if (value instanceof Uint8Array) {
      this.#setCopy(value, Flags.BYTES);
      return;
    }
    const unfaithful = unfaithfulToJson(value);
    if (unfaithful !== null) {
      throw new SerializationError(
        `cannot store ${unfaithful} as JSON: it would read back as something else. Convert it first ` +
          "(Object.fromEntries(map), [...set], Array.from(typedArray), { ...instance }), give it a toJSON(), or give the client a codec",
      );
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      throw new SerializationError(`cannot serialise value as JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (json === undefined)
      throw new SerializationError("value serialises to nothing (JSON.stringify gave undefined)");
    this.#set(json, Flags.JSON);
  }

  /**
   * Decodes `buf[start, end)` stored with `flags`. The bytes may belong to a socket chunk: copied if
   * kept, unless `owned` (the buffer is the caller's to give away: a value assembled over chunks).
   */
  decode(buf: Buffer, start: number, end: number, flags: number, owned = false): unknown {
    // The common case, a string stored by the default codec, in a method small enough to inline.
    if (flags === Flags.STRING && this.#user === null && !owned) return utf8(buf, start, end);
    return this.#decodeOther(buf, start, end, flags, owned);
  }

  #decodeOther(buf: Buffer, start: number, end: number, flags: number, owned: boolean): unknown {
    const value = this.#decodeAny(buf, start, end, flags, owned);
    // The default codec's values other than bytes keep no view of `buf`: pooled memory behind it can
    // be reused (`protocol/pooled-bytes.ts`). A user codec's value might keep one.
    if (owned && this.#user === null && !(value instanceof Uint8Array)) droppedView(buf);
    return value;
  }

  #decodeAny(buf: Buffer, start: number, end: number, flags: number, owned: boolean): unknown {
    const packed = flags & COMPRESSION_MASK;
    // Compressed values inflate first: with the default codec when the rest of the flags is one of its
    // types (anything else was written by another client: raw bytes, as before), and with a user codec
    // only when compression is on (otherwise the bits are the user's).
    if (
      packed !== 0 &&
      packed !== COMPRESSION_MASK &&
      (this.#user === null ? (flags & ~COMPRESSION_MASK) <= Flags.BIGINT : this.#compressor !== null)
    ) {
      const raw = inflate(buf, start, end, packed, this.#maxInflated);
      const type = flags & ~COMPRESSION_MASK;
      // Fresh bytes: raw bytes are handed out as they are, not copied again.
      if (type === Flags.BYTES && this.#user === null) return raw;
      return this.decode(raw, 0, raw.length, type);
    }
    if (this.#user !== null) {
      const copy = owned ? buf.subarray(start, end) : copyOf(buf, start, end);
      try {
        return this.#user.decode(copy, flags);
      } catch (err) {
        throw new SerializationError(`codec.decode failed: ${(err as Error).message}`, { cause: err });
      }
    }
    switch (flags & TYPE_MASK) {
      case Flags.STRING:
        if (flags === Flags.STRING)
          return end - start >= ASCII_CHECK_FROM ? bigText(buf, start, end) : utf8(buf, start, end);
        break;
      case Flags.JSON:
        if (flags === Flags.JSON) {
          try {
            return JSON.parse(buf.toString("utf8", start, end));
          } catch (err) {
            throw new SerializationError(`stored JSON does not parse: ${(err as Error).message}`, {
              cause: err,
            });
          }
        }
        break;
      case Flags.NUMBER:
        if (flags === Flags.NUMBER) return Number(buf.toString("latin1", start, end));
        break;
      case Flags.BIGINT:
        if (flags === Flags.BIGINT) {
          try {
            return BigInt(buf.toString("latin1", start, end));
          } catch (err) {
            throw new SerializationError("stored bigint does not parse", { cause: err });
          }
        }
        break;
    }
    // Flags.BYTES, and anything written by another client with flags we do not know: raw bytes.
    return owned ? buf.subarray(start, end) : copyOf(buf, start, end);
  }

  /** Sets a copy of `bytes` (pooled when big) as `data`, or `bytes` themselves when handed over. */
  #setCopy(bytes: Uint8Array, flags: number): void {
    const copies = this.#copies;
    if (copies === null) {
      this.#set(
        Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
        flags,
      );
      return;
    }
    this.#set(copies.copy(bytes), flags);
    this.pooled = copies.pooled;
  }

  #set(data: string | Buffer, flags: number): void {
    this.data = data;
    this.length = typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.length;
    this.flags = flags;
  }
}

/** A copy of `buf[start, end)`. */
function copyOf(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}

/** `Buffer#utf8Slice`, which `toString("utf8", start, end)` ends in. */
type Utf8Slicing = Buffer & { utf8Slice(start: number, end: number): string };
/**
 * Present in every Node release, though undocumented: checked once, with `toString` as the fallback.
 * Called directly, it skips `toString`'s argument checks and its encoding lookup, whose call site is
 * shared by every `toString` in the process (so it is megamorphic in any real application).
 */
const HAS_UTF8_SLICE = typeof (Buffer.prototype as Partial<Utf8Slicing>).utf8Slice === "function";

/**
 * Text of this many bytes or more, assembled over socket reads (the common string reads stay on
 * {@link utf8}, small enough to inline), is checked for ASCII first (see {@link bigText}).
 */
const ASCII_CHECK_FROM = 32 * 1024;

/** `buf[start, end)` as UTF-8 text (`start` and `end` within `buf`). */
function utf8(buf: Buffer, start: number, end: number): string {
  return HAS_UTF8_SLICE ? (buf as Utf8Slicing).utf8Slice(start, end) : buf.toString("utf8", start, end);
}

/**
 * Big text: bytes that are all ASCII (checked at memory speed) are the same text decoded as ASCII,
 * which V8 builds without UTF-8's per-character decoding, many times faster for a big value.
 */
function bigText(buf: Buffer, start: number, end: number): string {
  return bytesAreAscii(buf.subarray(start, end))
    ? buf.toString("ascii", start, end)
    : buf.toString("utf8", start, end);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
