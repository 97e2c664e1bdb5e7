/**
 * The text reply parser: replies recorded from a real memcached (`fixtures/text/replies.json`, see
 * `test/support/record-text-replies.ts`), whole, split at every byte, one byte at a time and through
 * one reused read buffer; malformed replies; and property tests (fast-check, FUZZ_RUNS cases): any
 * bytes give replies or a ProtocolError, generated streams split anywhere give exactly their replies.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ProtocolError } from "../../src/errors.ts";
import { MAX_LINE, TextParser, type TextReply } from "../../src/protocol/text/parser.ts";
import { feedThroughOneBuffer } from "../support/chunks.ts";
import {
  assertMalformedAtEverySplit,
  cutsArb,
  feedCut,
  mutate,
  mutationsArb,
  RUNS,
} from "../support/fuzz.ts";

interface Reply {
  word: string;
  key?: string;
  flags?: number;
  value?: string;
  cas?: string;
  text?: string;
}
interface Fixture {
  maxValueSize: number;
  good: { name: string; wire: string; replies: Reply[] }[];
  bad: { name: string; wire: string }[];
}
const fixture: Fixture = JSON.parse(
  readFileSync(new URL("../../fixtures/text/replies.json", import.meta.url), "utf8"),
);

/** What a reply says, in the fixture's words. */
function snapshot(r: TextReply): Reply {
  if (r.word === "VALUE") {
    const out: Reply = {
      word: "VALUE",
      key: r.key(),
      flags: r.clientFlags,
      value: r.value.toString("latin1", r.valueStart, r.valueEnd),
    };
    if (r.hasCas()) out.cas = r.cas().toString();
    return out;
  }
  if (r.word === "NUMBER") return { word: "NUMBER", text: r.counter().toString() };
  const text = r.text();
  return text === "" ? { word: r.word } : { word: r.word, text };
}

function parseChunks(chunks: Buffer[]): Reply[] {
  const got: Reply[] = [];
  const p = new TextParser((r) => got.push(snapshot(r)), fixture.maxValueSize);
  for (const c of chunks) p.feed(c);
  assert.equal(p.partial, false, "no bytes left waiting");
  return got;
}

describe("text parser: replies recorded from memcached, whole and split at every byte", () => {
  for (const f of fixture.good) {
    it(f.name, () => {
      const wire = Buffer.from(f.wire, "latin1");
      assert.deepEqual(parseChunks([wire]), f.replies, "whole");
      for (let cut = 1; cut < wire.length; cut++) {
        assert.deepEqual(
          parseChunks([wire.subarray(0, cut), wire.subarray(cut)]),
          f.replies,
          `split at ${cut}`,
        );
      }
      assert.deepEqual(
        parseChunks(Array.from(wire, (b) => Buffer.from([b]))),
        f.replies,
        "one byte at a time",
      );
    });
  }

  it("chunks read into one reused buffer (as the connection reads) parse as the same replies", () => {
    const wire = Buffer.concat(fixture.good.map((f) => Buffer.from(f.wire, "latin1")));
    const wants = fixture.good.flatMap((f) => f.replies);
    for (const sizes of [[1], [2, 3], [5, 17, 64], [100, 7], [4096]]) {
      const got: Reply[] = [];
      const p = new TextParser((r) => got.push(snapshot(r)), fixture.maxValueSize);
      feedThroughOneBuffer(wire, sizes, (c) => p.feed(c));
      assert.equal(p.partial, false);
      assert.deepEqual(got, wants, `chunk sizes ${sizes.join(",")}`);
    }
  });
});

describe("text parser: malformed replies are a ProtocolError, never anything else", () => {
  for (const f of fixture.bad) {
    it(f.name, () => {
      const wire = Buffer.from(f.wire, "latin1");
      assertMalformedAtEverySplit(() => new TextParser(() => {}, fixture.maxValueSize), wire);
    });
  }

  it("an endless line fails once it passes MAX_LINE", () => {
    const p = new TextParser(() => {}, fixture.maxValueSize);
    let fed = 0;
    assert.throws(() => {
      for (; fed <= MAX_LINE * 2; fed += 1024) p.feed(Buffer.alloc(1024, 0x41));
    }, ProtocolError);
    assert.ok(fed <= MAX_LINE + 1024, `stopped after ${fed} bytes`);
  });
});

/** Feeds `bytes` cut at `cuts`; the replies, or the error thrown. */
function feed(bytes: Buffer, cuts: number[]): { replies: Reply[]; error?: unknown } {
  const replies: Reply[] = [];
  const p = new TextParser((r) => {
    assert.ok(r.valueEnd - r.valueStart <= 4096, "never a value over maxValueSize");
    replies.push(r.word === "NUMBER" ? { word: "NUMBER" } : snapshot(r));
  }, 4096);
  const error = feedCut((c) => p.feed(c), bytes, cuts);
  return error === undefined ? { replies } : { replies, error };
}

const keyArb = fc.stringMatching(/^[!-~]{1,20}$/);
const valueArb = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString("latin1"));
const replyArb: fc.Arbitrary<{ wire: string; expect: Reply }> = fc.oneof(
  fc
    .record({
      k: keyArb,
      v: valueArb,
      f: fc.nat(0xffffffff),
      c: fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { nil: undefined }),
    })
    .map(({ k, v, f, c }) => ({
      wire: `VALUE ${k} ${f} ${Buffer.byteLength(v, "latin1")}${c === undefined ? "" : ` ${c}`}\r\n${v}\r\n`,
      expect: { word: "VALUE", key: k, flags: f, value: v, ...(c === undefined ? {} : { cas: String(c) }) },
    })),
  fc
    .constantFrom("END", "STORED", "NOT_STORED", "EXISTS", "NOT_FOUND", "DELETED", "TOUCHED", "OK", "ERROR")
    .map((w) => ({ wire: `${w}\r\n`, expect: { word: w } })),
  fc
    .bigInt({ min: 0n, max: (1n << 64n) - 1n })
    .map((n) => ({ wire: `${n}\r\n`, expect: { word: "NUMBER" } })),
  fc
    .stringMatching(/^[a-z_]{1,10} [0-9a-z.]{1,10}$/)
    .map((t) => ({ wire: `STAT ${t}\r\n`, expect: { word: "STAT", text: t } })),
  fc
    .tuple(fc.constantFrom("CLIENT_ERROR", "SERVER_ERROR"), fc.stringMatching(/^[a-z ]{1,30}$/))
    .map(([w, t]) => ({ wire: `${w} ${t}\r\n`, expect: { word: w, text: t } })),
);

describe("text parser, fuzzed", () => {
  it(`any bytes, split anywhere: replies or ProtocolError (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), cutsArb, (bytes, cuts) => {
        const r = feed(Buffer.from(bytes), cuts);
        if (r.error !== undefined) assert.ok(r.error instanceof ProtocolError, String(r.error));
      }),
      { numRuns: RUNS },
    );
  });

  it(`protocol-like garbage (reply words, digits, CRLF), split anywhere (${RUNS} runs)`, () => {
    const token = fc.constantFrom(
      "VALUE ",
      "END",
      "STAT ",
      "k",
      " ",
      "0",
      "9",
      "4000000000",
      "\r\n",
      "\n",
      "x",
      "OK",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), cutsArb, (tokens, cuts) => {
        const r = feed(Buffer.from(tokens.join(""), "latin1"), cuts);
        if (r.error !== undefined) assert.ok(r.error instanceof ProtocolError, String(r.error));
      }),
      { numRuns: RUNS },
    );
  });

  it(`valid streams, split anywhere: exactly the generated replies (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(replyArb, { maxLength: 30 }), cutsArb, (replies, cuts) => {
        const r = feed(Buffer.from(replies.map((x) => x.wire).join(""), "latin1"), cuts);
        assert.equal(r.error, undefined);
        assert.deepEqual(
          r.replies,
          replies.map((x) => x.expect),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it(`mutated valid streams: replies or ProtocolError, bounded values (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(replyArb, { minLength: 1, maxLength: 20 }),
        mutationsArb,
        cutsArb,
        (replies, muts, cuts) => {
          const r = feed(mutate(Buffer.from(replies.map((x) => x.wire).join(""), "latin1"), muts), cuts);
          if (r.error !== undefined) assert.ok(r.error instanceof ProtocolError, String(r.error));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
