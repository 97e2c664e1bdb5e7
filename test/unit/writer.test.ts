import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Writer } from "../../src/protocol/writer.ts";

/** Byte `i` of a burst tagged `tag`: every position differs, so an overlap or a reordering shows. */
const byteAt = (i: number, tag: number) => (i * 7 + tag) & 0xff;

/** Writes `n` bytes of burst `tag` the way the encoders do: room first, then the bytes. */
function fill(w: Writer, n: number, tag: number): void {
  for (let i = 0; i < n; ) {
    const k = Math.min(1000, n - i);
    w.ensure(k);
    for (let j = 0; j < k; j++, i++) w.buf[w.pos++] = byteAt(i, tag);
  }
}

/** Whether `b` is burst `tag` exactly. */
function isBurst(b: Buffer, n: number, tag: number): boolean {
  if (b.length !== n) return false;
  for (let i = 0; i < n; i++) if (b[i] !== byteAt(i, tag)) return false;
  return true;
}

const memoryOf = (chunks: Buffer[]) => new Set(chunks.map((c) => c.buffer));

describe("writer", () => {
  it("uint writes every integer as its decimal digits, at every length and on both sides of each power of ten", () => {
    const values: number[] = [];
    for (let v = 0; v < 1000; v++) values.push(v);
    for (let p = 10; p <= 2 ** 53; p *= 10) values.push(p - 1, p, p + 1);
    values.push(2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < 10_000; i++) values.push(Math.floor(Math.random() * 2 ** 31));
    const w = new Writer();
    for (const v of values) {
      w.ensure(32);
      w.byte(32);
      w.uint(v);
    }
    const out = Buffer.concat(w.finish()).toString("latin1");
    assert.deepEqual(out.slice(1).split(" "), values.map(String));
  });

  it("a burst bigger than a slab goes out whole, in order; length counts every byte not handed out", () => {
    const w = new Writer();
    fill(w, 150_000, 1);
    assert.equal(w.length, 150_000);
    assert.ok(isBurst(Buffer.concat(w.finish()), 150_000, 1));
    assert.equal(w.length, 0);
    const big = Buffer.alloc(20_000, 3);
    fill(w, 10, 1);
    w.value(big, big.length);
    fill(w, 10, 1);
    assert.equal(w.length, 20_020);
    assert.equal(Buffer.concat(w.finish()).length, 20_020);
    assert.equal(w.length, 0);
  });

  it("reuses its slabs once the socket is done with them: no new memory per burst", () => {
    const w = new Writer();
    fill(w, 300_000, 1);
    const first = w.finish();
    assert.ok(memoryOf(first).size > 1, "the first burst outgrew one slab");
    assert.ok(isBurst(Buffer.concat(first), 300_000, 1));
    for (let round = 2; round < 6; round++) {
      w.rewind(); // the socket has copied everything out
      fill(w, 300_000, round);
      const next = w.finish();
      for (const c of next) assert.ok(memoryOf(first).has(c.buffer), "written into memory already allocated");
      assert.ok(isBurst(Buffer.concat(next), 300_000, round), `burst ${round} whole and in order`);
    }
  });

  it("never writes over what the socket may still hold (no rewind: fresh memory)", () => {
    const w = new Writer();
    fill(w, 300_000, 1);
    w.rewind();
    const held = w.finish(); // handed to a socket that has not copied it out yet
    for (let round = 2; round < 5; round++) {
      fill(w, 300_000, round);
      w.finish();
    }
    assert.ok(isBurst(Buffer.concat(held), 300_000, 1), "the held burst is intact");
  });

  it("after reset() (a lost socket: what it held is never written) the next burst is whole", () => {
    const w = new Writer();
    fill(w, 300_000, 1);
    w.finish();
    fill(w, 5_000, 9); // encoded, never handed out
    w.reset();
    w.rewind();
    fill(w, 300_000, 2);
    assert.ok(isBurst(Buffer.concat(w.finish()), 300_000, 2));
  });

  it("does not rewind while something is encoded and not handed out", () => {
    const w = new Writer();
    fill(w, 10, 1);
    w.rewind();
    fill(w, 10, 1);
    const out = Buffer.concat(w.finish());
    assert.ok(isBurst(out.subarray(0, 10), 10, 1) && isBurst(out.subarray(10), 10, 1));
  });

  it("holds no memory before its first write, then a small first slab shared with other small buffers", () => {
    // A fleet of a thousand servers has a thousand writers: the dead servers' never write at all,
    // and each live one's first write must not allocate memory of its own in the burst that starts them.
    const w = new Writer();
    assert.equal(w.buf.length, 0);
    assert.deepEqual(w.finish(), []);
    assert.equal(w.buf.length, 0, "finishing nothing allocates nothing");
    fill(w, 10, 1);
    assert.ok(w.buf.length <= Buffer.poolSize / 2, `first slab of ${w.buf.length} bytes`);
    assert.ok(w.buf.buffer.byteLength > w.buf.length, "sliced from Node's shared pool");
    assert.ok(isBurst(Buffer.concat(w.finish()), 10, 1));
  });

  it("without reuse (TLS), slabs do not grow", () => {
    const w = new Writer(false);
    fill(w, 300_000, 1);
    const chunks = w.finish();
    assert.ok(isBurst(Buffer.concat(chunks), 300_000, 1));
    // Every chunk is (part of) a first-size slab; none of a grown one.
    for (const c of chunks) assert.ok(c.length <= 16 * 1024, `a chunk of ${c.length} bytes`);
  });
});
