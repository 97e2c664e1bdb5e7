/**
 * Copies of the callers' bytes (a stored value is the value as it was when the call was made,
 * whatever the caller does with its buffer afterwards), cut from shared slabs: one allocation per
 * slab instead of one per value. `Buffer.from(bytes)` would take them from Node's 8 KiB pool, which
 * costs a `malloc` (and later a `free`) every few values of a kilobyte.
 *
 * A slab lives as long as any copy cut from it: a copy kept long (a request waiting for a retry)
 * keeps its slab, as a pooled `Buffer` keeps its pool.
 *
 * Larger values are copied into pooled memory (`protocol/pooled-bytes.ts`), written again without
 * the page faults of fresh memory; {@link ByteCopies.pooled} is what the last copy holds.
 */
import { type PooledBytes, takeBytes } from "../protocol/pooled-bytes.js";

/** Slab size: below the allocator's threshold for a memory map of its own. */
const SLAB = 64 * 1024;
/** Larger values are copied into pooled memory. */
const LARGEST = SLAB / 8;

export class ByteCopies {
  #slab: Buffer = Buffer.allocUnsafeSlow(SLAB);
  /** The slab's memory, kept: `Buffer#subarray` asks the slab for it on every call, a native call. */
  #memory: ArrayBuffer = this.#slab.buffer as ArrayBuffer;
  #base = this.#slab.byteOffset;
  #pos = 0;

  /**
   * The pooled memory of the last copy, held once for its holder (who gives it back, `release`,
   * once nothing will write the copy again; or never, and the memory is collected); null when the
   * last copy was cut from a slab.
   */
  pooled: PooledBytes | null = null;

  /** A copy of `bytes` that nothing else writes to. */
  copy(bytes: Uint8Array): Buffer {
    const n = bytes.length;
    if (n > LARGEST) {
      const p = takeBytes(n);
      p.bytes.set(bytes);
      this.pooled = p;
      return p.bytes;
    }
    this.pooled = null;
    if (this.#pos + n > SLAB) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB);
      this.#memory = this.#slab.buffer as ArrayBuffer;
      this.#base = this.#slab.byteOffset;
      this.#pos = 0;
    }
    const start = this.#pos;
    this.#slab.set(bytes, start);
    // Copies start on 8-byte boundaries, as Node's pool aligns them.
    this.#pos = (start + n + 7) & ~7;
    return Buffer.from(this.#memory, this.#base + start, n);
  }
}
