/**
 * Feeds `wire` to `feed` the way the connection's `onread` does: every chunk is copied into one
 * buffer that is reused (and here scribbled over) as soon as `feed` returns. A parser that keeps a
 * view of a chunk past `feed` then reads garbage instead of the bytes it was given.
 */
export function feedThroughOneBuffer(wire: Buffer, sizes: number[], feed: (chunk: Buffer) => void): void {
  const shared = Buffer.alloc(Math.max(...sizes));
  let off = 0;
  for (let i = 0; off < wire.length; i++) {
    const n = Math.min(sizes[i % sizes.length]!, wire.length - off);
    wire.copy(shared, 0, off, off + n);
    feed(shared.subarray(0, n));
    shared.fill(0xee);
    off += n;
  }
}
