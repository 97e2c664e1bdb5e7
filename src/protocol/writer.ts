/**
 * A growable output buffer, one per connection: a bump allocator over slabs.
 *
 *     slab: [ handed to the socket … | start ─ bytes of this flush ─ pos | free … ]
 *
 * Requests are encoded at `pos`; {@link Writer.finish} hands out `[start, pos)` as a view (no
 * copy) and moves `start` up. When a slab runs out, encoding goes on in another one; the socket may
 * still hold views of the old one. The next slab is twice as big (up to {@link MAX_SLAB}), so a
 * connection's slab grows to the size of its usual burst. Once the socket has copied everything out,
 * {@link Writer.rewind} starts over at the beginning of the current slab and keeps the largest earlier
 * one as a spare: a burst then goes out from the same memory every turn, with no allocation. Values
 * of {@link BIG_VALUE} bytes or more are not copied: they go out as their own chunk between two views
 * (a big string is encoded once, into pooled memory). The pooled memory of the chunks handed out is
 * held until the socket is done with it ({@link Writer.takeHeld}).
 */
import { type PooledBytes, pooledOf, takeBytes } from "./pooled-bytes.js";

/** Slab size of a writer that does not grow (TLS): small, as most connections never need more. */
const SLAB = 16 * 1024;
/**
 * A growing writer's first slab: small enough that `Buffer.allocUnsafe` slices it from Node's shared
 * pool instead of allocating memory of its own, which a burst of new connections would otherwise do
 * hundreds of times in one turn. A connection with more to write grows from it in a few bursts.
 */
const FIRST_SLAB = 2 * 1024;
/** Values at least this big are written as their own chunk instead of being copied. */
export const BIG_VALUE = 16 * 1024;
/** Strings at least this long are copied natively by {@link Writer.ascii}. */
const NATIVE_COPY = 24;
/** What a writer holds before its first write. */
const NO_SLAB = Buffer.alloc(0);

/** Largest slab a connection grows to (a bigger burst is written in parts, see `pipeline.ts`). */
const MAX_SLAB = 256 * 1024;

/** "00" to "99" as ASCII byte pairs. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = 48 + ((i / 10) | 0);
  DIGIT_PAIRS[2 * i + 1] = 48 + (i % 10);
}

/** Decimal length of an int32 `v` ≥ 10. */
function decimalDigits(v: number): number {
  if (v < 100000) return v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
  return v < 10000000 ? (v < 1000000 ? 6 : 7) : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

export class Writer {
  /**
   * `reuse`: the owner calls {@link Writer.rewind} when the socket is done (plain sockets). Without it
   * (TLS) slabs stay at their first size: growing them would only allocate more per burst.
   */
  constructor(readonly reuse = true) {}

  /** Empty until the first write: a connection that never writes (a dead server's) allocates none. */
  buf: Buffer = NO_SLAB;
  pos = 0;
  #start = 0;
  #chunks: Buffer[] = [];
  /** Bytes in `#chunks`. */
  #chunkBytes = 0;
  /** The largest slab filled since the last rewind: the socket may still read from it. */
  #filled: Buffer | null = null;
  /** A slab the socket is done with, for the next burst that outgrows the current one. */
  #spare: Buffer | null = null;
  /** Pooled memory of the big values in `#chunks`, held for the socket write (see `pooled-bytes.ts`). */
  #held: PooledBytes[] | null = null;

  /** Bytes encoded and not yet handed out. */
  get length(): number {
    return this.pos - this.#start + this.#chunkBytes;
  }

  /**
   * Makes room for `n` more bytes at `pos`. A full slab is not copied: what it holds becomes a
   * chunk of its own and encoding goes on in a fresh slab.
   */
  ensure(n: number): void {
    // Kept this small so that every encoder inlines it; the rare move to a new slab is a call.
    if (this.pos + n > this.buf.length) this.#moveOn(n);
  }

  #moveOn(n: number): void {
    if (this.pos > this.#start) this.#chunk(this.buf.subarray(this.#start, this.pos));
    this.#nextSlab(n);
  }

  /** Writes an ASCII/latin1 string (keys, tokens). Caller has ensured room. */
  ascii(s: string): void {
    const n = s.length;
    // Char by char when short; natively when longer, which beats a `charCodeAt` per char on the
    // concatenated strings keys usually are.
    if (n < NATIVE_COPY) {
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
      // Small integers (sizes, TTLs, client flags): int32 arithmetic, the length by comparisons, and
      // two digits per division (one divides per digit pair, not per digit).
      let p = this.pos + decimalDigits(v);
      this.pos = p;
      while (v >= 100) {
        const q = (v / 100) | 0;
        const pair = (v - q * 100) * 2;
        b[--p] = DIGIT_PAIRS[pair + 1]!;
        b[--p] = DIGIT_PAIRS[pair]!;
        v = q;
      }
      if (v >= 10) {
        b[--p] = DIGIT_PAIRS[v * 2 + 1]!;
        b[--p] = DIGIT_PAIRS[v * 2]!;
      } else b[--p] = 48 + v;
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
      this.#bigValue(v, length);
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

  /**
   * A big value as a chunk of its own: a Buffer as it is (held while written when it is pooled
   * memory), a string encoded once into pooled memory, held until written.
   */
  #bigValue(v: string | Buffer, length: number): void {
    if (typeof v === "string") {
      const p = takeBytes(length);
      // As many bytes as chars: ASCII, whose latin1 bytes are its UTF-8 bytes, copied without UTF-8's per-char work.
      p.bytes.write(v, 0, length, length === v.length ? "latin1" : "utf8");
      (this.#held ??= []).push(p);
      this.#chunk(p.bytes);
      return;
    }
    // A view of pooled memory (the whole copy, or a big value's chunk of it) holds all of it.
    const p = pooledOf(v);
    if (p !== undefined) {
      p.hold();
      (this.#held ??= []).push(p);
    }
    this.#chunk(v);
  }

  /**
   * The pooled memory of the chunks last handed out by {@link Writer.finish} (null when none): the
   * caller gives each back (`release`) once the socket has written them.
   */
  takeHeld(): PooledBytes[] | null {
    const held = this.#held;
    this.#held = null;
    return held;
  }

  /** Hands out everything encoded since the last call, as one or more Buffers to write in order. */
  finish(): Buffer[] {
    this.#cut();
    const out = this.#chunks;
    this.#chunks = [];
    this.#chunkBytes = 0;
    return out;
  }

  /**
   * Called when the socket has copied out everything handed out so far: nothing holds a view of the
   * slabs any more, so encoding starts over at the beginning of the current one, and the largest one
   * filled before it is kept as the spare. A burst then stays in memory already allocated.
   */
  rewind(): void {
    if (this.#chunks.length === 0 && this.pos === this.#start) {
      this.pos = 0;
      this.#start = 0;
      const filled = this.#filled;
      if (filled !== null && (this.#spare === null || filled.length > this.#spare.length))
        this.#spare = filled;
      this.#filled = null;
    }
  }

  /** Drops everything not handed out (the connection died). */
  reset(): void {
    const held = this.takeHeld();
    if (held !== null) for (const p of held) p.release();
    this.#chunks = [];
    this.#chunkBytes = 0;
    this.#start = this.pos;
    this.#filled = null;
  }

  #cut(): void {
    if (this.pos > this.#start) {
      this.#chunk(this.buf.subarray(this.#start, this.pos));
      this.#start = this.pos;
    }
    // Start a fresh slab when little room is left, so small views don't pin tiny tails.
    if (this.buf !== NO_SLAB && this.buf.length - this.pos < 1024) this.#nextSlab(0);
  }

  #chunk(c: Buffer): void {
    this.#chunks.push(c);
    this.#chunkBytes += c.length;
  }

  /**
   * Goes on in the spare slab, or a new one twice the size of the current one (up to
   * {@link MAX_SLAB}), with room for `n` bytes; the current one is left to the socket.
   */
  #nextSlab(n: number): void {
    const current = this.buf;
    if (current !== NO_SLAB && (this.#filled === null || current.length >= this.#filled.length))
      this.#filled = current;
    const spare = this.#spare;
    if (spare !== null && spare.length >= n) {
      this.#spare = null;
      this.buf = spare;
    } else {
      const size = !this.reuse
        ? SLAB
        : current === NO_SLAB
          ? FIRST_SLAB
          : Math.min(current.length * 2, MAX_SLAB);
      this.buf = Buffer.allocUnsafe(Math.max(size, n));
    }
    this.pos = 0;
    this.#start = 0;
  }
}
