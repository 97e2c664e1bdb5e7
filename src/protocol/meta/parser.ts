/**
 * Incremental parser of meta-protocol replies. Bytes in, {@link MetaReply} callbacks out; no socket,
 * no timer, no string split.
 *
 * The common replies (`VA` with its value, `HD`, `EN`, `MN`… with the flags the client asks for) are
 * read in one pass over their bytes when they are whole in the chunk (`quick-reader.ts`). Everything
 * else goes the general way: the line is found, then read (`line-reader.ts`), and a line or value cut
 * by a chunk's end is `line-parser.ts`'s (shared with the text protocol): a partial line is joined to
 * the next chunk, and a `VA` value that ends in a later chunk is assembled in one buffer of exactly its
 * size (a size bounded by `maxValueSize`) and handed out from there.
 *
 * The callback gets one reused {@link MetaReply} whose offsets point into the current buffer; it must
 * copy what it keeps before returning.
 */
import { VA } from "./codes.js";
import { LineParser } from "../line-parser.js";
import { readMetaLine } from "./line-reader.js";
import { readQuickReply } from "./quick-reader.js";
import { MetaReply } from "./reply.js";

export { MetaReply };
export { MAX_LINE } from "../line-parser.js";

/** Parses a reply stream; see the module comment. */
export class MetaParser extends LineParser<MetaReply> {
  constructor(onReply: (reply: MetaReply) => void, maxValueSize: number) {
    super(new MetaReply(), onReply, maxValueSize);
  }

  protected override parse(buf: Buffer, off: number): void {
    const end = buf.length;
    const r = this.reply;
    const max = this.maxValueSize;
    while (off < end) {
      const next = readQuickReply(r, buf, off, end, max);
      if (next >= 0) {
        off = next;
        this.onReply(r);
        continue;
      }
      off = this.parseReply(buf, off);
      if (off < 0) return;
    }
  }

  /** Reads a whole line; a `VA` line is followed by its value. */
  protected readLine(b: Buffer, s: number, e: number): number {
    readMetaLine(this.reply, b, s, e, this.maxValueSize);
    return this.reply.code === VA ? this.reply.size : -1;
  }
}
