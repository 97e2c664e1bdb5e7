/**
 * Property tests of the meta reply parser (fast-check). Set FUZZ_RUNS to run more cases (the default
 * keeps `npm test` quick).
 *
 * - Any bytes, split anywhere: the parser yields replies or throws ProtocolError — never anything else.
 * - Generated valid streams, split anywhere: exactly the replies that were generated.
 * - Mutated valid streams (bytes flipped, inserted, deleted): replies or ProtocolError, and no value is
 *   ever larger than maxValueSize (no allocation from an unbounded length field).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ProtocolError } from "../../src/errors.ts";
import { MetaParser, type MetaReply } from "../../src/protocol/meta/parser.ts";
import { OPAQUE_LIMIT, writeOpaqueToken } from "../../src/protocol/meta/opaque-token.ts";
import { cutsArb, feedCut, mutate, mutationsArb, RUNS } from "../support/fuzz.ts";

const MAX_VALUE = 4096;

interface Expected {
  code: string;
  value?: string;
  opaque?: number;
  flags?: number;
  text?: string;
}

/** Feeds `bytes` in pieces cut at `cuts`; returns the replies, or the error thrown. */
function feed(bytes: Buffer, cuts: number[]): { replies: Expected[]; error?: unknown } {
  const replies: Expected[] = [];
  const p = new MetaParser((r: MetaReply) => {
    assert.ok(r.valueEnd - r.valueStart <= MAX_VALUE, "never a value over maxValueSize");
    const e: Expected = { code: r.name() };
    if (r.code === 1) e.value = r.value.toString("latin1", r.valueStart, r.valueEnd);
    if (r.opaque >= 0) e.opaque = r.opaque;
    if (r.clientFlags !== 0) e.flags = r.clientFlags;
    replies.push(e);
  }, MAX_VALUE);
  const error = feedCut((c) => p.feed(c), bytes, cuts);
  return error === undefined ? { replies } : { replies, error };
}

const word = fc.stringMatching(/^[a-z]{1,8}$/);

/** The opaque's token as the client writes it (`opaque-token.ts`). */
function token(o: number): string {
  const b = Buffer.alloc(4);
  writeOpaqueToken(b, 0, o);
  return b.toString("latin1");
}
const valueArb = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString("latin1"));
const replyArb: fc.Arbitrary<{ wire: string; expect: Expected }> = fc.oneof(
  fc.record({ v: valueArb, o: fc.nat(OPAQUE_LIMIT - 1), f: fc.nat(0xffffffff) }).map(({ v, o, f }) => ({
    wire: `VA ${Buffer.byteLength(v, "latin1")}${f === 0 ? "" : ` f${f}`} O${token(o)}\r\n${v}\r\n`,
    expect: { code: "VA", value: v, opaque: o, ...(f === 0 ? {} : { flags: f }) },
  })),
  fc
    .record({ c: fc.constantFrom("HD", "EN", "NS", "EX", "NF"), o: fc.nat(OPAQUE_LIMIT - 1) })
    .map(({ c, o }) => ({
      wire: `${c} O${token(o)}\r\n`,
      expect: { code: c, opaque: o },
    })),
  fc.constant({ wire: "MN\r\n", expect: { code: "MN" } }),
  fc.constant({ wire: "END\r\n", expect: { code: "END" } }),
  fc.tuple(word, word).map(([a, b]) => ({ wire: `STAT ${a} ${b}\r\n`, expect: { code: "STAT" } })),
  word.map((m) => ({ wire: `SERVER_ERROR ${m}\r\n`, expect: { code: "SERVER_ERROR" } })),
);

describe("meta parser, fuzzed", () => {
  it(`any bytes, split anywhere: replies or ProtocolError, never another error (${RUNS} runs)`, () => {
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
      "VA ",
      "HD",
      "EN",
      "MN",
      "STAT ",
      "END",
      " O",
      " f",
      " t-1",
      " c",
      " k",
      "\r\n",
      "\n",
      " ",
      "9",
      "4000000000",
      "x",
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
        const wire = Buffer.from(replies.map((r) => r.wire).join(""), "latin1");
        const r = feed(wire, cuts);
        assert.equal(r.error, undefined);
        assert.equal(r.replies.length, replies.length);
        r.replies.forEach((got, i) => {
          const want = replies[i]!.expect;
          for (const k of Object.keys(want) as (keyof Expected)[])
            assert.deepEqual(got[k], want[k], `${k} of reply ${i}`);
        });
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
