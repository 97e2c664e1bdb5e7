/**
 * A growable output buffer, one per connection: a bump allocator over slabs.
 *
 *     slab: [ handed to the socket … | start ─ bytes of this flush ─ pos | free … ]
 *
 * Requests are encoded at `pos`; {@link Writer.finish} hands out `[start, pos)` as a view (no
 * copy) and moves `start` up. When a slab runs out, a new one is allocated; the socket may still
 * hold views of the old one, which is then left to the GC. Once the socket has copied everything
 * out, {@link Writer.rewind} lets the same slab be used again from its start. Values of {@link BIG_VALUE} bytes or more
 * are not copied: they go out as their own chunk between two views.
 */

/** Default slab size. */
const SLAB = 64 * 1024;
/** Values at least this big are written as their own chunk instead of being copied. */
export const BIG_VALUE = 16 * 1024;

export class Writer {
  buf: Buffer = Buffer.allocUnsafe(SLAB);
  pos = 0;
  #start = 0;
  #chunks: Buffer[] = [];

  /** Bytes encoded and not yet handed out. */
  get length(): number {
    let n = this.pos - this.#start;
    for (const c of this.#chunks) n += c.length;
    return n;
  }

  /**
   * Makes room for `n` more bytes at `pos`. A full slab is not copied: what it holds becomes a
   * chunk of its own and encoding goes on in a fresh slab.
   */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos > this.#start) this.#chunks.push(this.buf.subarray(this.#start, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(SLAB, n));
    this.pos = 0;
    this.#start = 0;
  }

  /** Writes an ASCII/latin1 string (keys, tokens). Caller has ensured room. */
  ascii(s: string): void {
    const n = s.length;
    if (n < 32) {
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
    } else {
      this.pos += this.buf.write(s, this.pos, n, "latin1");
    }
  }

  /** Writes one byte. Caller has ensured room. */
  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** Writes `"\r\n"`. Caller has ensured room. */
  crlf(): void {
    const b = this.buf;
    b[this.pos] = 13;
    b[this.pos + 1] = 10;
    this.pos += 2;
  }

  /** Writes a non-negative integer below 2^53 in decimal. Caller has ensured room (16 bytes). */
  uint(v: number): void {
    const b = this.buf;
    if (v < 10) {
      b[this.pos++] = 48 + v;
      return;
    }
    if (v <= 0x7fffffff) {
      // Small integers (opaques, sizes, TTLs): int32 arithmetic, no floating-point division.
      let digits = 2;
      for (let t = (v / 100) | 0; t > 0; t = (t / 10) | 0) digits++;
      let p = this.pos + digits;
      this.pos = p;
      while (v > 0) {
        const q = (v / 10) | 0;
        b[--p] = 48 + v - q * 10;
        v = q;
      }
      return;
    }
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (v >= 10) {
      const q = Math.floor(v / 10);
      b[--p] = 48 + (v - q * 10);
      v = q;
    }
    b[--p] = 48 + v;
  }

  /**
   * Writes a value: copied into the slab when small, appended as its own chunk when big.
   * `length` is its byte length (already known to the caller).
   */
  value(v: string | Buffer, length: number): void {
    if (length >= BIG_VALUE) {
      this.#cut();
      this.#chunks.push(typeof v === "string" ? Buffer.from(v, "utf8") : v);
      return;
    }
    this.ensure(length + 2);
    if (typeof v === "string") this.pos += this.buf.write(v, this.pos, length, "utf8");
    else {
      // Uint8Array#set: Buffer#copy would make a view of `v` per call.
      this.buf.set(v, this.pos);
      this.pos += length;
    }
  }

  /** Hands out everything encoded since the last call, as one or more Buffers to write in order. */
  finish(): Buffer[] {
    this.#cut();
    const out = this.#chunks;
    this.#chunks = [];
    return out;
  }

  /**
   * Called when the socket has copied out everything handed out so far (a write that completed at
   * once): nothing holds a view of the slab any more, so encoding starts over at its beginning. A
   * burst then stays in one slab (one chunk, one `write`), and no new slab is allocated for it.
   */
  rewind(): void {
    if (this.#chunks.length === 0 && this.pos === this.#start) {
      this.pos = 0;
      this.#start = 0;
    }
  }

  /** Drops everything not handed out (the connection died). */
  reset(): void {
    this.#chunks = [];
    this.#start = this.pos;
  }

  #cut(): void {
    if (this.pos > this.#start) {
      this.#chunks.push(this.buf.subarray(this.#start, this.pos));
      this.#start = this.pos;
    }
    // Start a fresh slab when little room is left, so small views don't pin tiny tails.
    if (this.buf.length - this.pos < 1024) {
      this.buf = Buffer.allocUnsafe(SLAB);
      this.pos = 0;
      this.#start = 0;
    }
  }
}
