/**
 * Copies of the callers' bytes (a stored value is the value as it was when the call was made,
 * whatever the caller does with its buffer afterwards), cut from shared slabs: one allocation per
 * slab instead of one per value. `Buffer.from(bytes)` would take them from Node's 8 KiB pool, which
 * costs a `malloc` (and later a `free`) every few values of a kilobyte.
 *
 * A slab lives as long as any copy cut from it: a copy kept long (a request waiting for a retry)
 * keeps its slab, as a pooled `Buffer` keeps its pool.
 */

/** Slab size: below the allocator's threshold for a memory map of its own. */
const SLAB = 64 * 1024;
/** Larger values get a buffer of their own. */
const LARGEST = SLAB / 8;

export class ByteCopies {
  #slab: Buffer = Buffer.allocUnsafeSlow(SLAB);
  #pos = 0;

  /** A copy of `bytes` that nothing else writes to. */
  copy(bytes: Uint8Array): Buffer {
    const n = bytes.length;
    if (n > LARGEST) return Buffer.from(bytes);
    if (this.#pos + n > SLAB) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB);
      this.#pos = 0;
    }
    const start = this.#pos;
    this.#slab.set(bytes, start);
    // Copies start on 8-byte boundaries, as Node's pool aligns them.
    this.#pos = (start + n + 7) & ~7;
    return this.#slab.subarray(start, start + n);
  }
}
