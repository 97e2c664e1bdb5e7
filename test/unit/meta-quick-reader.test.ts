/**
 * The meta parser's quick path (`quick-reader.ts`) against its general reader (`line-reader.ts`):
 * - whatever bytes it is given, the quick reader never throws, and a reply it reads is read field
 *   for field as the general reader reads it, ending at the same offset;
 * - it does read every reply the client's own requests draw from memcached (else they would all take
 *   the slow way, unnoticed but for the bench).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ProtocolError } from "../../src/errors.ts";
import { readMetaLine } from "../../src/protocol/meta/line-reader.ts";
import { readQuickReply } from "../../src/protocol/meta/quick-reader.ts";
import { MetaReply } from "../../src/protocol/meta/reply.ts";
import { RUNS } from "../support/fuzz.ts";

const MAX_VALUE = 4096;
const FIELDS = [
  "code",
  "lineStart",
  "lineEnd",
  "size",
  "opaque",
  "clientFlags",
  "ttlLeft",
  "casStart",
  "casEnd",
  "keyStart",
  "keyEnd",
  "upper",
  "lower",
  "valueStart",
  "valueEnd",
] as const;

/** The general way over a whole reply at `b[s…]`: its fields and the offset after it, or what it threw. */
function general(b: Buffer, s: number): { r: MetaReply; next: number } | { error: unknown } {
  const r = new MetaReply();
  const nl = b.indexOf(10, s);
  if (nl < 0 || nl === s || b[nl - 1] !== 13) return { error: "no line" };
  try {
    readMetaLine(r, b, s, nl - 1, MAX_VALUE);
  } catch (error) {
    return { error };
  }
  let next = nl + 1;
  if (r.code === 1 /* VA */) {
    const ve = next + r.size;
    if (ve + 2 > b.length || b[ve] !== 13 || b[ve + 1] !== 10) return { error: "no value" };
    r.valueStart = next;
    r.valueEnd = ve;
    next = ve + 2;
  }
  return { r, next };
}

function assertSameAsGeneral(b: Buffer, s: number): boolean {
  const quick = new MetaReply();
  const next = readQuickReply(quick, b, s, b.length, MAX_VALUE);
  if (next < 0) return false;
  const g = general(b, s);
  assert.ok("r" in g, `quick read ${JSON.stringify(b.toString("latin1"))} that the general reader refuses`);
  assert.equal(next, g.next, "the next reply's offset");
  for (const f of FIELDS) assert.equal(quick[f], g.r[f], `${f} of ${JSON.stringify(b.toString("latin1"))}`);
  return true;
}

const token = fc.constantFrom(
  "VA ",
  "HD",
  "EN",
  "MN",
  "NS",
  "OK",
  "END",
  " O",
  " f",
  " c",
  " k",
  " t",
  " t-1",
  " W",
  " b",
  "  ",
  " ",
  "\r\n",
  "\r",
  "\n",
  "0",
  "7",
  "12",
  "99999999999999999",
  "4000000000",
  "x",
  "-",
  "_",
  "A",
  "z",
  " O0001",
  "0000",
  "____",
);

describe("meta quick reader", () => {
  it(`protocol-like bytes: never throws; what it reads, it reads as the general reader does (${RUNS * 10} runs)`, () => {
    let read = 0;
    fc.assert(
      fc.property(fc.array(token, { maxLength: 14 }), fc.nat(3), (tokens, from) => {
        const b = Buffer.from(tokens.join(""), "latin1");
        const s = Math.min(from, b.length);
        if (assertSameAsGeneral(b, s)) read++;
      }),
      { numRuns: RUNS * 10 },
    );
    assert.ok(read > 0, "some generated replies were read the quick way");
  });

  it("every reply to the client's own requests is read the quick way, as the general reader reads it", () => {
    const value = "v".repeat(100);
    const replies = [
      `VA 100 f0 O001x\r\n${value}\r\n`,
      `VA 0 f4294967295 O0001\r\n\r\n`,
      `VA 100 f3 c88172 O0009\r\n${value}\r\n`,
      `VA 3 f1 W O001D\r\nabc\r\n`,
      `VA 3 f1 X Z O001E\r\nabc\r\n`,
      "HD O0001\r\n",
      "HD c12345678901234 O0002\r\n",
      "HD W O0003\r\n",
      "EN O0004\r\n",
      "NS O0005\r\n",
      "EX O0006\r\n",
      "NF O0007\r\n",
      "HD b kZm9v O0008\r\n",
      "MN\r\n",
    ];
    for (const wire of replies) {
      assert.ok(assertSameAsGeneral(Buffer.from(wire, "latin1"), 0), `read quickly: ${JSON.stringify(wire)}`);
    }
  });

  it("leaves to the general reader what it cannot read whole, and never throws on it", () => {
    const left = [
      "VA 100 f0 O0001\r\nshort", // the value is cut
      "HD O0001\r", // the line is cut
      "HD O0001",
      "VA 5 t-1 O0003\r\nabcde\r\n", // t: the general reader's
      "OK\r\n",
      "STAT pid 1\r\n",
      "HD  O0001\r\n", // two spaces
      "HD O0001 \r\n", // a trailing space
      "HD O00012\r\n", // an opaque of five letters
      "HD O00.1\r\n", // a letter out of the opaque's alphabet
      "HD O0001\n", // a bare LF
      "VA 9999 O0001\r\n", // over maxValueSize
      "XX O0001\r\n",
    ];
    for (const wire of left) {
      const r = new MetaReply();
      assert.equal(readQuickReply(r, Buffer.from(wire, "latin1"), 0, wire.length, MAX_VALUE), -1, wire);
    }
    // And the general reader still says what is wrong with the bad ones.
    const bad = general(Buffer.from("VA 9999 O0001\r\n", "latin1"), 0);
    assert.ok("error" in bad && bad.error instanceof ProtocolError);
  });
});
