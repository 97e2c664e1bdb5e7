/**
 * The codecs of a client with `bigValues` on. Reply handlers decode in the read callback, where no
 * further request can be made: an index item decodes to a {@link BigIndex} (or {@link NOT_A_VALUE}),
 * which the client's big-value reads then follow. Chunks are read with {@link ChunkBytes}, which
 * keeps their bytes as they are.
 */
import { SerializationError } from "../errors.js";
import { ValueCodec } from "../serialization/codec.js";
import { BIG_VALUE_FLAG, parseIndex } from "./big-value-format.js";

/**
 * What an item with {@link BIG_VALUE_FLAG} decodes to when its value is not an index: a miss, as
 * mcrouter reads it (an index that an `append` changed, say).
 */
export const NOT_A_VALUE: unique symbol = Symbol("memcachio.notAValue");

/** The client's codec with index items recognised, and the flag kept for them alone. */
export class IndexAwareCodec extends ValueCodec {
  override encode(value: unknown, compress = false): void {
    super.encode(value, compress);
    if ((this.flags & BIG_VALUE_FLAG) !== 0) {
      throw new SerializationError(
        `codec.encode returned flags ${this.flags}: bit 0x8000 marks a big value's index when bigValues is on`,
      );
    }
  }

  override decode(buf: Buffer, start: number, end: number, flags: number, owned = false): unknown {
    if ((flags & BIG_VALUE_FLAG) === 0) return super.decode(buf, start, end, flags, owned);
    return parseIndex(buf, start, end, flags) ?? NOT_A_VALUE;
  }
}

/** Decodes a chunk to its bytes: copied unless `owned` (the reply's may belong to a socket chunk). */
export class ChunkBytes extends ValueCodec {
  override decode(buf: Buffer, start: number, end: number, _flags = 0, owned = false): Buffer {
    if (owned) return buf.subarray(start, end);
    const out = Buffer.allocUnsafe(end - start);
    buf.copy(out, 0, start, end);
    return out;
  }
}
