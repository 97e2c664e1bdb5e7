/**
 * The reading both line protocols share (meta and classic text): a reply is a line ended by CRLF,
 * perhaps followed by a data block whose length the line announced and which is read by that length,
 * never by scanning for CRLF (data may hold any bytes). Each protocol reads its own lines
 * ({@link LineParser.readLine}); this class finds them, hands out the data block as a view of the
 * chunk, and keeps what a chunk cuts off (`chunk-buffer.ts`).
 */
import { ProtocolError } from "../errors.js";
import { ChunkParser } from "./chunk-buffer.js";

const NO_VALUE = Buffer.alloc(0);

/** Longest reply line accepted (memcached's are far shorter). Longer is a protocol error. */
export const MAX_LINE = 8192;

/** The fields of a reply this class fills: its data block, `value[valueStart, valueEnd)`. */
export interface LineReply {
  value: Buffer;
  valueStart: number;
  valueEnd: number;
  /** The data block's buffer is the reply's alone (assembled over several chunks). */
  ownsValue: boolean;
}

export abstract class LineParser<R extends LineReply> extends ChunkParser {
  constructor(
    /** The one reply object, reused: valid only during the callback. */
    readonly reply: R,
    readonly onReply: (reply: R) => void,
    readonly maxValueSize: number,
  ) {
    super();
  }

  /**
   * Reads the line `b[s, e)` (without CRLF) into {@link LineParser.reply}, its data block emptied;
   * returns the length of the data block that follows the line, or -1 when none does. Throws a
   * `ProtocolError` for a line that is not a reply.
   */
  protected abstract readLine(b: Buffer, s: number, e: number): number;

  /**
   * Finds the line that starts at `off`: returns the index of its `\n`, or -1 when the chunk ends
   * first. Throws a `ProtocolError` when the line does not end in CRLF.
   */
  #findLine(buf: Buffer, off: number, end: number): number {
    // Reply lines are short: a plain scan beats a native `indexOf` call per line.
    let nl = off;
    while (nl < end && buf[nl] !== 10) nl++;
    if (nl === end) return -1;
    if (nl === off || buf[nl - 1] !== 13) throw new ProtocolError("reply line not terminated by \\r\\n");
    return nl;
  }

  protected parse(buf: Buffer, off: number): void {
    while (off < buf.length) {
      off = this.parseReply(buf, off);
      if (off < 0) return;
    }
  }

  /**
   * Parses the reply at `off` and calls back: returns the offset after it, or -1 when the chunk cuts
   * it (what there is of it is kept for the next chunk).
   */
  protected parseReply(buf: Buffer, off: number): number {
    const end = buf.length;
    const r = this.reply;
    const nl = this.#findLine(buf, off, end);
    if (nl < 0) {
      if (end - off > MAX_LINE) throw new ProtocolError(`reply line longer than ${MAX_LINE} bytes`);
      this.keepRest(buf, off);
      return -1;
    }
    const size = this.readLine(buf, off, nl - 1);
    if (size < 0) {
      this.onReply(r);
      return nl + 1;
    }
    const vs = nl + 1;
    const ve = vs + size;
    if (ve + 2 <= end) {
      if (buf[ve] !== 13 || buf[ve + 1] !== 10)
        throw new ProtocolError("value block not terminated by \\r\\n");
      if (r.value !== buf) r.value = buf; // see meta/line-reader.ts: a write barrier per store
      r.valueStart = vs;
      r.valueEnd = ve;
      this.onReply(r);
      return ve + 2;
    }
    // The value continues in a later chunk: keep its line and collect it in one buffer.
    this.spill(buf, off, nl - 1, vs, size + 2);
    return -1;
  }

  /** A value that came over several chunks: `data` is the value and its CRLF. */
  protected spilled(line: Buffer, data: Buffer): void {
    const size = data.length - 2;
    if (data[size] !== 13 || data[size + 1] !== 10)
      throw new ProtocolError("value block not terminated by \\r\\n");
    this.readLine(line, 0, line.length);
    const r = this.reply;
    r.value = data;
    r.valueStart = 0;
    r.valueEnd = size;
    r.ownsValue = true;
    try {
      this.onReply(r);
    } finally {
      // The next replies leave `value` alone while they carry none: let this one, perhaps large, go.
      r.value = NO_VALUE;
      r.valueEnd = 0;
      r.ownsValue = false;
    }
  }
}
