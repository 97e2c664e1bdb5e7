import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/errors.ts";
import { FLAG_BASE64, FLAG_STALE, FLAG_WIN, FLAG_CLAIMED } from "../../src/protocol/meta/codes.ts";
import { MAX_LINE, MetaParser, type MetaReply } from "../../src/protocol/meta/parser.ts";
import { feedThroughOneBuffer } from "../support/chunks.ts";
import { assertMalformedAtEverySplit } from "../support/fuzz.ts";

interface Fixture {
  maxValueSize: number;
  good: { name: string; wire: string; replies: Record<string, unknown>[] }[];
  bad: { name: string; wire: string }[];
}
const fixture: Fixture = JSON.parse(
  readFileSync(new URL("../../fixtures/meta/replies.json", import.meta.url), "utf8"),
);

/** What the test compares: only the fields a fixture names. */
function snapshot(r: MetaReply, want: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { code: r.name() };
  for (const k of Object.keys(want)) {
    switch (k) {
      case "code":
        break;
      case "value":
        out.value = r.value.toString("latin1", r.valueStart, r.valueEnd);
        break;
      case "valueHex":
        out.valueHex = r.value.toString("hex", r.valueStart, r.valueEnd);
        break;
      case "cas":
        out.cas = r.cas().toString();
        break;
      case "key":
        out.key = r.buf.toString("latin1", r.keyStart, r.keyEnd);
        break;
      case "text":
        out.text = r.text();
        break;
      case "W":
        out.W = (r.upper & FLAG_WIN) !== 0;
        break;
      case "X":
        out.X = (r.upper & FLAG_STALE) !== 0;
        break;
      case "Z":
        out.Z = (r.upper & FLAG_CLAIMED) !== 0;
        break;
      case "b":
        out.b = (r.lower & FLAG_BASE64) !== 0;
        break;
      default:
        out[k] = (r as unknown as Record<string, unknown>)[k];
    }
  }
  return out;
}

function parseChunks(chunks: Buffer[], wants: Record<string, unknown>[]): Record<string, unknown>[] {
  const got: Record<string, unknown>[] = [];
  const p = new MetaParser((r) => got.push(snapshot(r, wants[got.length] ?? {})), fixture.maxValueSize);
  for (const c of chunks) p.feed(c);
  assert.equal(p.partial, false, "no bytes left waiting");
  return got;
}

describe("meta parser: every fixture, whole and split at every byte", () => {
  for (const f of fixture.good) {
    it(f.name, () => {
      const wire = Buffer.from(f.wire, "latin1");
      assert.deepEqual(parseChunks([wire], f.replies), f.replies, "whole");
      for (let cut = 1; cut < wire.length; cut++) {
        const got = parseChunks([wire.subarray(0, cut), wire.subarray(cut)], f.replies);
        assert.deepEqual(got, f.replies, `split at ${cut}`);
      }
      const bytes = Array.from(wire, (b) => Buffer.from([b]));
      assert.deepEqual(parseChunks(bytes, f.replies), f.replies, "one byte at a time");
    });
  }

  it("all fixtures back to back in one chunk, and split at every byte", () => {
    const wire = Buffer.concat(fixture.good.map((f) => Buffer.from(f.wire, "latin1")));
    const wants = fixture.good.flatMap((f) => f.replies);
    assert.deepEqual(parseChunks([wire], wants), wants);
    for (let cut = 1; cut < wire.length; cut += 7) {
      assert.deepEqual(
        parseChunks([wire.subarray(0, cut), wire.subarray(cut)], wants),
        wants,
        `split at ${cut}`,
      );
    }
  });

  it("chunks read into one reused buffer (as the connection reads) parse as the same replies", () => {
    const wire = Buffer.concat(fixture.good.map((f) => Buffer.from(f.wire, "latin1")));
    const wants = fixture.good.flatMap((f) => f.replies);
    for (const sizes of [[1], [2, 3], [5, 17, 64], [100, 7], [4096]]) {
      const got: Record<string, unknown>[] = [];
      const p = new MetaParser((r) => got.push(snapshot(r, wants[got.length] ?? {})), fixture.maxValueSize);
      feedThroughOneBuffer(wire, sizes, (c) => p.feed(c));
      assert.equal(p.partial, false);
      assert.deepEqual(got, wants, `chunk sizes ${sizes.join(",")}`);
    }
  });

  it("each reply reads its own chunk: no value, line or flag is carried over from the reply before", () => {
    const seen: string[] = [];
    const p = new MetaParser((r) => {
      const value = r.value.toString("latin1", r.valueStart, r.valueEnd);
      seen.push(`${r.line()}|${value}|${r.hasCas()}|${r.upper}|${r.lower}|${r.opaque}`);
    }, fixture.maxValueSize);
    p.feed(Buffer.from("VA 2 f3 c9 W O0001\r\nab\r\nVA 1 O0002\r\nc\r\n"));
    p.feed(Buffer.from("EN O0003\r\nHD\r\n"));
    const f = 1 << (0x66 - 97);
    const c = 1 << (0x63 - 97);
    const O = 1 << (0x4f - 65);
    const W = 1 << (0x57 - 65);
    assert.deepEqual(seen, [
      `VA 2 f3 c9 W O0001|ab|true|${O | W}|${f | c}|1`,
      `VA 1 O0002|c|false|${O}|0|2`,
      `EN O0003||false|${O}|0|3`,
      "HD||false|0|0|-1",
    ]);
  });

  it("a value assembled from several chunks is not kept once its reply is handled", () => {
    let assembled: Buffer | null = null;
    const p = new MetaParser((r) => {
      assembled = r.value;
    }, fixture.maxValueSize);
    p.feed(Buffer.from("VA 4 O0001\r\nab"));
    p.feed(Buffer.from("cd\r\n"));
    assert.equal(assembled!.toString("latin1", 0, 4), "abcd");
    assert.notEqual(p.reply.value, assembled);
    assert.equal(p.reply.valueEnd - p.reply.valueStart, 0);
  });

  it("a large value across many chunks is assembled once, exactly", () => {
    const value = Buffer.alloc(300_000);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
    const wire = Buffer.concat([
      Buffer.from(`VA ${value.length} f1 O0004\r\n`),
      value,
      Buffer.from("\r\nHD O0005\r\n"),
    ]);
    const got: { code: string; value?: Buffer }[] = [];
    const p = new MetaParser((r) => {
      got.push({ code: r.name(), value: Buffer.from(r.value.subarray(r.valueStart, r.valueEnd)) });
    }, fixture.maxValueSize);
    for (let off = 0; off < wire.length; off += 65_536) p.feed(wire.subarray(off, off + 65_536));
    assert.equal(got.length, 2);
    assert.equal(got[0]!.code, "VA");
    assert.ok(got[0]!.value!.equals(value));
    assert.equal(got[1]!.code, "HD");
  });
});

describe("meta parser: malformed input is a ProtocolError, never anything else", () => {
  for (const f of fixture.bad) {
    it(f.name, () => {
      const wire = Buffer.from(f.wire, "latin1");
      assertMalformedAtEverySplit(() => new MetaParser(() => {}, fixture.maxValueSize), wire);
    });
  }

  it("an endless line without a newline fails once it passes MAX_LINE", () => {
    const p = new MetaParser(() => {}, fixture.maxValueSize);
    const junk = Buffer.alloc(1024, 0x41);
    let threw: unknown;
    let fed = 0;
    try {
      while (fed <= MAX_LINE * 2) {
        p.feed(junk);
        fed += junk.length;
      }
    } catch (e) {
      threw = e;
    }
    assert.ok(threw instanceof ProtocolError, "throws ProtocolError");
    assert.ok(fed <= MAX_LINE + junk.length, `stopped after ${fed} bytes`);
  });

  it("O reads the client's four-letter token (anything else is -2: no match), f a number (a bad one a ProtocolError)", () => {
    const seen: { opaque: number; flags: number; upper: number }[] = [];
    const p = new MetaParser(
      (r) => seen.push({ opaque: r.opaque, flags: r.clientFlags, upper: r.upper }),
      1024,
    );
    p.feed(
      Buffer.from("VA 2 f7 O000C\r\nhi\r\nHD O____\r\nHD O12\r\nHD O00000\r\nHD O00.0\r\nHD O\r\nHD\r\n"),
    );
    const O = 1 << (0x4f - 65);
    assert.deepEqual(seen, [
      { opaque: 12, flags: 7, upper: O },
      { opaque: 2 ** 24 - 1, flags: 0, upper: O },
      { opaque: -2, flags: 0, upper: O },
      { opaque: -2, flags: 0, upper: O },
      { opaque: -2, flags: 0, upper: O },
      { opaque: -2, flags: 0, upper: O },
      { opaque: -1, flags: 0, upper: 0 },
    ]);
    for (const bad of [
      "VA 1 f O0001\r\nx\r\n",
      "VA 1 f1x O0001\r\nx\r\n",
      `VA 1 f${"9".repeat(21)}\r\nx\r\n`,
    ]) {
      assert.throws(() => new MetaParser(() => {}, 1024).feed(Buffer.from(bad)), ProtocolError, bad);
    }
  });

  it("a line too short to hold a code fails as soon as its end arrives, not at the next chunk", () => {
    for (const wire of ["\r\n", "X\n", "X\r\n"]) {
      assert.throws(() => new MetaParser(() => {}, 1024).feed(Buffer.from(wire)), ProtocolError, wire);
    }
  });

  it("a stray CR inside a line fails, whatever its code (OK included: its text is otherwise ignored)", () => {
    for (const wire of [
      "OK\rjunk\r\n",
      "OK\r\r\n",
      "OK x\rSERVER_ERROR oom\r\n",
      "HD O0001\rX\r\n",
      "VA 1\r O0001\r\nx\r\n",
    ]) {
      assert.throws(
        () => new MetaParser(() => {}, 1024).feed(Buffer.from(wire)),
        ProtocolError,
        JSON.stringify(wire),
      );
    }
  });

  it("reset() forgets a partial value", () => {
    const got: string[] = [];
    const p = new MetaParser((r) => got.push(r.name()), fixture.maxValueSize);
    p.feed(Buffer.from("VA 10 O0001\r\nabc"));
    assert.equal(p.partial, true);
    p.reset();
    p.feed(Buffer.from("HD O0002\r\n"));
    assert.deepEqual(got, ["HD"]);
  });
});
