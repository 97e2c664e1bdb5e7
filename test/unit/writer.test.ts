import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Writer } from "../../src/protocol/writer.ts";

/** Writes `n` bytes of `byte` the way the encoders do: room first, then the bytes. */
function fill(w: Writer, n: number, byte: number): void {
  for (let left = n; left > 0; left -= 1000) {
    const k = Math.min(1000, left);
    w.ensure(k);
    w.buf.fill(byte, w.pos, w.pos + k);
    w.pos += k;
  }
}

const memoryOf = (chunks: Buffer[]) => new Set(chunks.map((c) => c.buffer));

describe("writer", () => {
  it("a burst bigger than a slab goes out whole, in order", () => {
    const w = new Writer();
    fill(w, 150_000, 0x61);
    w.ensure(1);
    w.byte(0x62);
    const out = Buffer.concat(w.finish());
    assert.equal(out.length, 150_001);
    assert.equal(
      out.subarray(0, 150_000).every((b) => b === 0x61),
      true,
    );
    assert.equal(out[150_000], 0x62);
  });

  it("reuses its slabs once the socket is done with them: no new memory per burst", () => {
    const w = new Writer();
    fill(w, 300_000, 0x61);
    const first = memoryOf(w.finish());
    assert.ok(first.size > 1, "the first burst outgrew one slab");
    w.rewind(); // the socket has copied everything out
    fill(w, 300_000, 0x62);
    const second = w.finish();
    for (const c of second)
      assert.ok(first.has(c.buffer), "the second burst is written into the first one's memory");
    assert.equal(
      Buffer.concat(second).every((b) => b === 0x62),
      true,
    );
  });

  it("never writes over what the socket may still hold (no rewind: fresh memory)", () => {
    const w = new Writer();
    fill(w, 300_000, 0x61);
    const held = w.finish(); // handed to a socket that has not copied it out yet
    fill(w, 300_000, 0x62);
    w.finish();
    assert.equal(
      Buffer.concat(held).every((b) => b === 0x61),
      true,
      "the first burst is intact",
    );
  });

  it("does not rewind while something is encoded and not handed out", () => {
    const w = new Writer();
    fill(w, 10, 0x61);
    w.rewind();
    fill(w, 10, 0x62);
    assert.equal(Buffer.concat(w.finish()).toString("latin1"), "a".repeat(10) + "b".repeat(10));
  });
});
