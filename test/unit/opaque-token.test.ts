/**
 * The meta opaque token (`O…`): four letters of a 64-letter alphabet that memcached echoes as they
 * are, read back to the number written; and the connection's counter, which wraps so that every
 * opaque of a request (a batch has one per key) fits the token.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Attempt, type AttemptSink } from "../../src/connection/attempt.ts";
import { Pipeline } from "../../src/connection/pipeline.ts";
import { encodeMeta } from "../../src/protocol/meta/encoder.ts";
import { OPAQUE_LIMIT, readOpaqueToken, writeOpaqueToken } from "../../src/protocol/meta/opaque-token.ts";
import { Batch, Frame, Op } from "../../src/protocol/frame.ts";
import type { ReplyHandler } from "../../src/connection/attempt.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { RUNS } from "../support/fuzz.ts";

const token = (v: number) => {
  const b = Buffer.alloc(4);
  writeOpaqueToken(b, 0, v);
  return b.toString("latin1");
};

describe("meta opaque token", () => {
  it("is four letters that memcached reads as one token, and reads back as the number written", () => {
    for (const v of [0, 1, 63, 64, 4095, 4096, 262143, 262144, OPAQUE_LIMIT - 2, OPAQUE_LIMIT - 1]) {
      const t = token(v);
      assert.match(t, /^[0-9A-Za-z_-]{4}$/, `${v}: ${t}`);
      assert.equal(readOpaqueToken(Buffer.from(t, "latin1"), 0, 4), v, `${v}: ${t}`);
    }
    assert.equal(token(0), "0000");
    assert.equal(token(OPAQUE_LIMIT - 1), "____");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: OPAQUE_LIMIT - 1 }), (v) => {
        assert.equal(readOpaqueToken(Buffer.from(`x${token(v)}y`, "latin1"), 1, 5), v);
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it("two different opaques never share a token", () => {
    const seen = new Set<string>();
    for (let v = 0; v < OPAQUE_LIMIT; v += 997) seen.add(token(v));
    assert.equal(seen.size, Math.ceil(OPAQUE_LIMIT / 997));
  });

  it("anything but four letters of the alphabet is no opaque of ours (-2)", () => {
    for (const t of ["", "0", "000", "00000", "00 0", "00.0", "0\r00", "\u00ff000", "12+4"]) {
      const b = Buffer.from(t, "latin1");
      assert.equal(readOpaqueToken(b, 0, b.length), -2, JSON.stringify(t));
    }
  });
});

describe("connection opaque counter", () => {
  const sink: AttemptSink<null, null> = { succeeded: () => {}, failed: () => {} };
  const handler: ReplyHandler = { onReply: () => true };
  const written: Buffer[] = [];
  const socket = {
    write: (b: Buffer) => written.push(Buffer.from(b)) > 0,
    writableLength: 0,
  } as unknown as Socket;
  const attempt = (frame: Frame) => new Attempt(frame, handler, sink, null, null, 1000) as Attempt;
  const get = (key: string) => Object.assign(new Frame(Op.Get), { key });

  it("wraps before a request whose opaques would pass the token's range: a batch's stay consecutive", () => {
    const p = new Pipeline("meta", true, 1 << 20, 1024, OPAQUE_LIMIT - 3);
    const first = attempt(get("a"));
    const many = new Frame(Op.GetMany);
    many.batch = new Batch(["k1", "k2", "k3"], null);
    const batch = attempt(many);
    p.pending.push(first);
    p.pending.push(batch);
    written.length = 0;
    assert.equal(p.flush(socket), true);
    assert.equal(first.opaque, OPAQUE_LIMIT - 3);
    assert.equal(batch.opaque, 0, "the batch's three opaques would not fit after the get's: it starts at 0");
    const w = new Writer();
    encodeMeta(w, many, 0);
    assert.equal(
      Buffer.concat(written).toString("latin1"),
      `mg a v f O${token(OPAQUE_LIMIT - 3)}\r\n${Buffer.concat(w.finish()).toString("latin1")}`,
    );
    assert.match(Buffer.concat(written).toString("latin1"), /O0000\r\n.*O0001\r\n.*O0002\r\nmn\r\n$/s);
  });
});
