import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteCopies } from "../../src/serialization/byte-copies.ts";

describe("byte copies", () => {
  it("each copy holds the bytes as they were, whatever the source and the other copies do", () => {
    const copies = new ByteCopies();
    const source = Buffer.alloc(1000);
    const made: Buffer[] = [];
    // Enough copies of varied sizes to span several slabs.
    for (let i = 0; i < 400; i++) {
      const n = 1 + ((i * 37) % 1000);
      source.fill(i & 0xff, 0, n);
      made.push(copies.copy(source.subarray(0, n)));
      source.fill(0xee); // the caller reuses its buffer
    }
    for (let i = 0; i < made.length; i++) {
      const n = 1 + ((i * 37) % 1000);
      assert.equal(made[i]!.length, n);
      assert.ok(
        made[i]!.every((b) => b === (i & 0xff)),
        `copy ${i} intact`,
      );
    }
  });

  it("copies share slabs; a large value gets a buffer of its own", () => {
    const copies = new ByteCopies();
    const a = copies.copy(Buffer.from("abc"));
    const b = copies.copy(Buffer.from("defg"));
    assert.equal(a.buffer, b.buffer);
    assert.deepEqual([a.toString(), b.toString()], ["abc", "defg"]);
    const big = Buffer.alloc(20_000, 7);
    const c = copies.copy(big);
    assert.notEqual(c.buffer, big.buffer);
    assert.ok(c.equals(big));
  });
});
