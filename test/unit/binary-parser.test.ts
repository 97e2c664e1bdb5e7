import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/errors.ts";
import { BinaryParser, type BinaryReply } from "../../src/protocol/binary/parser.ts";
import { feedThroughOneBuffer } from "../support/chunks.ts";
import { assertMalformedAtEverySplit } from "../support/fuzz.ts";

interface Fixture {
  maxValueSize: number;
  good: { name: string; wireHex: string; replies: Record<string, unknown>[] }[];
  bad: { name: string; wireHex: string }[];
}
const fixture: Fixture = JSON.parse(
  readFileSync(new URL("../../fixtures/binary/responses.json", import.meta.url), "utf8"),
);

/** What the test compares: only the fields a fixture names. */
function snapshot(r: BinaryReply, want: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(want)) {
    switch (k) {
      case "key":
        out.key = r.keyText();
        break;
      case "value":
        out.value = r.text();
        break;
      case "valueLength":
        out.valueLength = r.valueEnd - r.valueStart;
        break;
      case "casNonZero":
        out.casNonZero = r.cas() !== 0n;
        break;
      case "counter":
        out.counter = r.u64().toString();
        break;
      default:
        out[k] = (r as unknown as Record<string, unknown>)[k];
    }
  }
  return out;
}

function parseChunks(chunks: Buffer[], wants: Record<string, unknown>[]): Record<string, unknown>[] {
  const got: Record<string, unknown>[] = [];
  const p = new BinaryParser((r) => got.push(snapshot(r, wants[got.length] ?? {})), fixture.maxValueSize);
  for (const c of chunks) p.feed(c);
  assert.equal(p.partial, false, "no bytes left waiting");
  return got;
}

describe("binary parser: every fixture (real memcached 1.6.18 bytes), whole and split at every byte", () => {
  for (const f of fixture.good) {
    it(f.name, () => {
      const wire = Buffer.from(f.wireHex, "hex");
      assert.deepEqual(parseChunks([wire], f.replies), f.replies, "whole");
      for (let cut = 1; cut < wire.length; cut++) {
        const got = parseChunks([wire.subarray(0, cut), wire.subarray(cut)], f.replies);
        assert.deepEqual(got, f.replies, `split at ${cut}`);
      }
      if (wire.length < 4096) {
        const bytes = Array.from(wire, (b) => Buffer.from([b]));
        assert.deepEqual(parseChunks(bytes, f.replies), f.replies, "one byte at a time");
      }
    });
  }

  it("all fixtures back to back in one chunk, and in three pieces", () => {
    const wire = Buffer.concat(fixture.good.map((f) => Buffer.from(f.wireHex, "hex")));
    const wants = fixture.good.flatMap((f) => f.replies);
    assert.deepEqual(parseChunks([wire], wants), wants);
    for (let cut = 1; cut < wire.length; cut += 613) {
      const mid = Math.min(wire.length, cut + 30);
      const pieces = [wire.subarray(0, cut), wire.subarray(cut, mid), wire.subarray(mid)];
      assert.deepEqual(parseChunks(pieces, wants), wants, `split at ${cut} and ${mid}`);
    }
  });

  it("chunks read into one reused buffer (as the connection reads) parse as the same responses", () => {
    const wire = Buffer.concat(fixture.good.map((f) => Buffer.from(f.wireHex, "hex")));
    const wants = fixture.good.flatMap((f) => f.replies);
    for (const sizes of [[3, 11], [23, 5, 64], [100, 7], [4096]]) {
      const got: Record<string, unknown>[] = [];
      const p = new BinaryParser((r) => got.push(snapshot(r, wants[got.length] ?? {})), fixture.maxValueSize);
      feedThroughOneBuffer(wire, sizes, (c) => p.feed(c));
      assert.equal(p.partial, false);
      assert.deepEqual(got, wants, `chunk sizes ${sizes.join(",")}`);
    }
  });

  it("a value split over chunks is assembled once, byte for byte", () => {
    const value = Buffer.alloc(300_000);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
    const h = Buffer.alloc(28);
    h[0] = 0x81;
    h[4] = 4;
    h.writeUInt32BE(4 + value.length, 8);
    h.writeUInt32BE(9, 12);
    h.writeUInt32BE(3, 24);
    const noop = Buffer.alloc(24);
    noop[0] = 0x81;
    noop[1] = 0x0a;
    const wire = Buffer.concat([h, value, noop]);
    const got: { opcode: number; flags: number; value: Buffer }[] = [];
    const p = new BinaryParser((r) => {
      got.push({
        opcode: r.opcode,
        flags: r.clientFlags,
        value: Buffer.from(r.value.subarray(r.valueStart, r.valueEnd)),
      });
    }, fixture.maxValueSize);
    for (let off = 0; off < wire.length; off += 65_536) p.feed(wire.subarray(off, off + 65_536));
    assert.equal(got.length, 2);
    assert.equal(got[0]!.flags, 3);
    assert.ok(got[0]!.value.equals(value));
    assert.equal(got[1]!.opcode, 0x0a);
  });
});

describe("binary parser: malformed input is a ProtocolError, never anything else", () => {
  for (const f of fixture.bad) {
    it(f.name, () => {
      const wire = Buffer.from(f.wireHex, "hex");
      assertMalformedAtEverySplit(() => new BinaryParser(() => {}, fixture.maxValueSize), wire);
    });
  }

  it("a counter body that is not 8 bytes is a ProtocolError", () => {
    const h = Buffer.alloc(27);
    h[0] = 0x81;
    h[1] = 0x05;
    h.writeUInt32BE(3, 8);
    let thrown: unknown;
    new BinaryParser((r) => {
      try {
        r.u64();
      } catch (e) {
        thrown = e;
      }
    }, 1024).feed(h);
    assert.ok(thrown instanceof ProtocolError);
  });

  it("reset() forgets a partial body", () => {
    const got: number[] = [];
    const p = new BinaryParser((r) => got.push(r.opaque), 1024);
    const h = Buffer.alloc(24);
    h[0] = 0x81;
    h.writeUInt32BE(10, 8);
    h.writeUInt32BE(1, 12);
    p.feed(Buffer.concat([h, Buffer.from("abc")]));
    assert.equal(p.partial, true);
    p.reset();
    h.writeUInt32BE(0, 8);
    h.writeUInt32BE(2, 12);
    p.feed(h);
    assert.deepEqual(got, [2]);
  });
});
