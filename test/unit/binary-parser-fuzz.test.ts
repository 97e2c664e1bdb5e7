/**
 * Property tests of the binary response parser (fast-check), as for the meta parser. Set FUZZ_RUNS
 * to run more cases.
 *
 * - Any bytes, split anywhere: responses or ProtocolError — never anything else.
 * - Generated valid streams, split anywhere: exactly the generated responses.
 * - Mutated valid streams: responses or ProtocolError, and no body over maxValueSize + slack is ever
 *   allocated (the length field is bounded before any allocation).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ProtocolError } from "../../src/errors.ts";
import { BinaryParser, type BinaryReply } from "../../src/protocol/binary/parser.ts";
import { cutsArb, feedCut, mutate, mutationsArb, RUNS } from "../support/fuzz.ts";

const MAX_VALUE = 4096;
/** The parser's allowance over maxValueSize for key, extras and non-value bodies. */
const SLACK = 64 * 1024;

interface Expected {
  opcode: number;
  status: number;
  opaque: number;
  key: string;
  value: string;
  flags: number;
}

function feed(bytes: Buffer, cuts: number[]): { replies: Expected[]; error?: unknown } {
  const replies: Expected[] = [];
  const p = new BinaryParser((r: BinaryReply) => {
    assert.ok(r.valueEnd - r.valueStart <= MAX_VALUE + SLACK, "never a body over the bound");
    replies.push({
      opcode: r.opcode,
      status: r.status,
      opaque: r.opaque,
      key: r.keyText(),
      value: r.text(),
      flags: r.clientFlags,
    });
  }, MAX_VALUE);
  const error = feedCut((c) => p.feed(c), bytes, cuts);
  return error === undefined ? { replies } : { replies, error };
}

const latin1 = (max: number) =>
  fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a).toString("latin1"));

const responseArb: fc.Arbitrary<{ wire: Buffer; expect: Expected }> = fc
  .record({
    opcode: fc.constantFrom(0x00, 0x01, 0x04, 0x05, 0x0a, 0x0b, 0x0d, 0x10, 0x1d),
    status: fc.constantFrom(0, 1, 2, 5, 6, 0x20, 0x81),
    opaque: fc.nat(0xffffffff),
    key: latin1(40),
    value: latin1(300),
    flags: fc.nat(0xffffffff),
  })
  .map(({ opcode, status, opaque, key, value, flags }) => {
    const getFamily = opcode === 0x00 || opcode === 0x0d || opcode === 0x1d;
    const extras = getFamily ? 4 : 0;
    const k = Buffer.from(key, "latin1");
    const v = Buffer.from(value, "latin1");
    const h = Buffer.alloc(24 + extras);
    h[0] = 0x81;
    h[1] = opcode;
    h.writeUInt16BE(k.length, 2);
    h[4] = extras;
    h.writeUInt16BE(status, 6);
    h.writeUInt32BE(extras + k.length + v.length, 8);
    h.writeUInt32BE(opaque, 12);
    if (getFamily) h.writeUInt32BE(flags, 24);
    return {
      wire: Buffer.concat([h, k, v]),
      expect: { opcode, status, opaque, key, value, flags: getFamily ? flags : 0 },
    };
  });

describe("binary parser, fuzzed", () => {
  it(`any bytes, split anywhere: responses or ProtocolError, never another error (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), cutsArb, (bytes, cuts) => {
        const r = feed(Buffer.from(bytes), cuts);
        if (r.error !== undefined) assert.ok(r.error instanceof ProtocolError, String(r.error));
      }),
      { numRuns: RUNS },
    );
  });

  it(`valid streams, split anywhere: exactly the generated responses (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(responseArb, { maxLength: 30 }), cutsArb, (responses, cuts) => {
        const r = feed(Buffer.concat(responses.map((x) => x.wire)), cuts);
        assert.equal(r.error, undefined);
        assert.deepEqual(
          r.replies,
          responses.map((x) => x.expect),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it(`mutated valid streams: responses or ProtocolError, bounded bodies (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(responseArb, { minLength: 1, maxLength: 20 }),
        mutationsArb,
        cutsArb,
        (responses, muts, cuts) => {
          const r = feed(mutate(Buffer.concat(responses.map((x) => x.wire)), muts), cuts);
          if (r.error !== undefined) assert.ok(r.error instanceof ProtocolError, String(r.error));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
