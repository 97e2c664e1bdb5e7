/**
 * The buffering both reply parsers share (after pg-protocol). A reply whole inside a socket chunk
 * is parsed from the chunk itself. A partial head (a meta line, a binary header) at the end of a
 * chunk is copied and joined to the next chunk. A reply whose data (a value, a body) ends in a later
 * chunk has its head copied and its data assembled once, in a buffer of exactly its size. Nothing of
 * a chunk is kept after {@link ChunkParser.feed} returns, so the caller may read the next chunk into
 * the same buffer.
 *
 * Big data is assembled in pooled memory (`pooled-bytes.ts`: no page faults of fresh memory), given
 * back once the reply is handled when its decoder dropped it (decoded to a string); a decoder that
 * keeps the bytes keeps that memory, collected like any other once let go.
 */
import { POOLED_ABOVE, type PooledBytes, takeBytes } from "./pooled-bytes.js";

export abstract class ChunkParser {
  /** Unconsumed bytes of a partial head (a copy). */
  #rest: Buffer | null = null;
  /** A reply whose data continues in later chunks: its head (a copy) and its data so far. */
  #spillHead: Buffer | null = null;
  #spill: Buffer | null = null;
  #spillFill = 0;
  /** The pooled memory `#spill` is, when it is. */
  #spillPooled: PooledBytes | null = null;

  /** Bytes are waiting for more input (a partial head or data). */
  get partial(): boolean {
    return this.#rest !== null || this.#spill !== null;
  }

  /** Forgets any partial input (the connection was reset). */
  reset(): void {
    this.#rest = null;
    this.#spill = null;
    this.#spillHead = null;
    this.#spillFill = 0;
    this.#spillPooled = null;
  }

  /** Feeds bytes; the parser calls back for each complete reply. Throws `ProtocolError` on bad input. */
  feed(chunk: Buffer): void {
    let off = 0;
    if (this.#spill !== null) {
      off = this.#fillSpill(chunk);
      if (this.#spill !== null || off === chunk.length) return;
    }
    if (this.#rest !== null) {
      const rest = this.#rest;
      this.#rest = null;
      this.parse(Buffer.concat([rest, off === 0 ? chunk : chunk.subarray(off)]), 0);
      return;
    }
    this.parse(chunk, off);
  }

  /**
   * Parses the replies in `buf` from `off`; ends with {@link ChunkParser.keepRest} when a head is
   * cut off, or {@link ChunkParser.spill} when a reply's data is.
   */
  protected abstract parse(buf: Buffer, off: number): void;

  /** A spilled reply is complete: `head` as it was copied, `data` all of its data. */
  protected abstract spilled(head: Buffer, data: Buffer): void;

  /** Keeps `buf[off…]`, a partial head, for the next chunk. */
  protected keepRest(buf: Buffer, off: number): void {
    this.#rest = Buffer.from(buf.subarray(off)); // a copy: the caller may reuse `buf`
  }

  /** Keeps the head `buf[headStart, headEnd)` and the `dataLength` bytes of data from `dataStart` on. */
  protected spill(
    buf: Buffer,
    headStart: number,
    headEnd: number,
    dataStart: number,
    dataLength: number,
  ): void {
    this.#spillHead = Buffer.from(buf.subarray(headStart, headEnd));
    let spill: Buffer;
    if (dataLength > POOLED_ABOVE) {
      const p = takeBytes(dataLength);
      this.#spillPooled = p;
      spill = p.bytes;
    } else spill = Buffer.allocUnsafe(dataLength);
    buf.copy(spill, 0, dataStart, buf.length);
    this.#spill = spill;
    this.#spillFill = buf.length - dataStart;
  }

  /** Copies from `chunk` into the spilled data; returns how many bytes of `chunk` it used. */
  #fillSpill(chunk: Buffer): number {
    const spill = this.#spill!;
    const n = Math.min(spill.length - this.#spillFill, chunk.length);
    chunk.copy(spill, this.#spillFill, 0, n);
    this.#spillFill += n;
    if (this.#spillFill < spill.length) return n;
    const head = this.#spillHead!;
    const pooled = this.#spillPooled;
    this.#spill = null;
    this.#spillHead = null;
    this.#spillPooled = null;
    this.spilled(head, spill);
    if (pooled?.dropped === true) pooled.release();
    return n;
  }
}
