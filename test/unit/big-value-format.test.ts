/**
 * The big-value format (`src/client/big-value-format.ts`) beside the reference written from mcrouter's
 * source (`test/support/mcrouter-big-value.ts`): index values, chunk keys and the pieces agree.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import {
  BIG_VALUE_FLAG,
  chunkKey,
  chunkKeys,
  indexValue,
  newSuffix,
  parseIndex,
  split,
} from "../../src/client/big-value-format.ts";
import { MC_MSG_FLAG_BIG_VALUE, refEncode, refParseIndex } from "../support/mcrouter-big-value.ts";

function parse(text: string, flags = BIG_VALUE_FLAG | 1) {
  const b = Buffer.from(text);
  return parseIndex(b, 0, b.length, flags);
}

describe("big-value format", () => {
  it("the flag is mcrouter's MC_MSG_FLAG_BIG_VALUE and clear of the default codec's bits (0x00–0x3f)", () => {
    assert.equal(BIG_VALUE_FLAG, MC_MSG_FLAG_BIG_VALUE);
    assert.equal(BIG_VALUE_FLAG & 0x3f, 0);
  });

  it("writes what the reference writes: the same chunk keys, pieces and index for the same suffix", () => {
    const value = randomBytes(10_000);
    const suffix = newSuffix();
    assert.match(suffix, /^\d{1,10}$/);
    assert.ok(BigInt(suffix) <= 0xffff_ffffn);
    const ref = refEncode("user:1", value, 3, 4096, BigInt(suffix));
    const parts = split(value, 4096);
    assert.deepEqual(
      ref.slice(0, -1).map((item) => [item.key, item.value, item.flags]),
      parts.map((p, i) => [chunkKey("user:1", i, suffix), p, 3]),
    );
    assert.equal(ref.at(-1)!.value.toString(), indexValue(parts.length, suffix));
    assert.equal(ref.at(-1)!.flags, 3 | BIG_VALUE_FLAG);
    const index = parse(indexValue(parts.length, suffix), 3 | BIG_VALUE_FLAG)!;
    assert.deepEqual([index.chunks, index.suffix, index.flags], [3, suffix, 3]);
    assert.deepEqual(
      chunkKeys("user:1", index),
      [0, 1, 2].map((i) => `user:1:${i}:${suffix}`),
    );
  });

  it("reads an index as mcrouter's parseChunksInfo does, and nothing else", () => {
    for (const ok of ["1-1-0", "1-4294967295-18446744073709551615", "1-2-007"]) {
      assert.notEqual(parse(ok), null, ok);
      assert.notEqual(refParseIndex(Buffer.from(ok)), null, ok);
    }
    assert.equal(parse("1-2-007")!.suffix, "7", "chunks named by the number parsed");
    for (const bad of [
      "2-1-5",
      "1-1",
      "1-1-5-5",
      "1--5",
      "1-1-x",
      "1-1-5 ",
      "+1-1-5",
      "1-4294967296-5",
      "1-1-18446744073709551616",
      "",
    ]) {
      assert.equal(parse(bad), null, bad);
      assert.equal(refParseIndex(Buffer.from(bad)), null, bad);
    }
    assert.equal(parse("1-0-5"), null, "no chunks: memcachio reads a miss");
  });

  it("Buffer keys keep their bytes; split views the value without copying", () => {
    const key = Buffer.from([0xff, 0x00, 0x41]);
    assert.deepEqual(chunkKey(key, 12, "34"), Buffer.concat([key, Buffer.from(":12:34")]));
    const value = Buffer.alloc(10, 1);
    const parts = split(value, 4);
    assert.deepEqual(
      parts.map((p) => p.length),
      [4, 4, 2],
    );
    assert.equal(parts[1]!.buffer, value.buffer);
  });
});
