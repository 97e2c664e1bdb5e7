import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeMeta } from "../../src/protocol/meta/encoder.ts";
import { Batch, Frame, Op } from "../../src/protocol/frame.ts";
import { Writer } from "../../src/protocol/writer.ts";

function wire(req: Frame, opaque = 7): string {
  const w = new Writer();
  encodeMeta(w, req, opaque);
  return Buffer.concat(w.finish()).toString("latin1");
}

function req(op: Op, fields: Partial<Frame> = {}): Frame {
  const r = new Frame(op);
  Object.assign(r, fields);
  return r;
}

describe("meta encoder", () => {
  it("get, gets, touch, getAndTouch, delete", () => {
    assert.equal(wire(req(Op.Get, { key: "foo" })), "mg foo v f O0007\r\n");
    assert.equal(wire(req(Op.Get, { key: "Zm9v", base64: true })), "mg Zm9v b v f O0007\r\n");
    assert.equal(wire(req(Op.Gets, { key: "foo" })), "mg foo v f c O0007\r\n");
    assert.equal(wire(req(Op.Touch, { key: "foo", ttl: 30 })), "mg foo T30 O0007\r\n");
    assert.equal(wire(req(Op.GetAndTouch, { key: "foo", ttl: 0 })), "mg foo v f T0 O0007\r\n");
    assert.equal(wire(req(Op.Delete, { key: "foo" }), 2 ** 24 - 1), "md foo O____\r\n");
  });

  it("keys of every length are copied whole (char by char when short, natively when long)", () => {
    for (const n of [1, 23, 24, 25, 100, 250]) {
      const key = `${"k".repeat(n - 1)}${n % 10}`;
      assert.equal(wire(req(Op.Get, { key })), `mg ${key} v f O0007\r\n`, `${n} chars`);
      const many = new Frame(Op.GetMany);
      many.batch = new Batch([key, "a"], null);
      assert.equal(
        wire(many, 1),
        `mg ${key} v f q O0001\r\nmg a v f q O0002\r\nmn\r\n`,
        `${n} chars in a batch`,
      );
    }
  });

  it("ms in every mode, with flags, ttl and cas", () => {
    const base = { key: "k", value: "hello", valueLength: 5 };
    assert.equal(wire(req(Op.Store, base)), "ms k 5 O0007\r\nhello\r\n");
    assert.equal(
      wire(req(Op.Store, { ...base, clientFlags: 4294967295, ttl: 60, mode: 0x45 })),
      "ms k 5 F4294967295 T60 ME O0007\r\nhello\r\n",
    );
    assert.equal(
      wire(req(Op.Store, { ...base, cas: 18446744073709551615n })),
      "ms k 5 C18446744073709551615 O0007\r\nhello\r\n",
    );
    const bytes = Buffer.from([0, 13, 10, 255]);
    assert.equal(
      wire(req(Op.Store, { key: "k", value: bytes, valueLength: 4, clientFlags: 1 })),
      "ms k 4 F1 O0007\r\n\u0000\r\n\u00ff\r\n",
    );
    const utf8 = "ключ";
    assert.equal(
      wire(req(Op.Store, { key: "k", value: utf8, valueLength: Buffer.byteLength(utf8) })),
      `ms k 8 O0007\r\n${Buffer.from(utf8).toString("latin1")}\r\n`,
    );
  });

  it("a big value goes out as its own chunk, bytes unchanged", () => {
    const big = Buffer.alloc(100_000, 0x61);
    const w = new Writer();
    const r = req(Op.Store, { key: "k", value: big, valueLength: big.length });
    encodeMeta(w, r, 1);
    const chunks = w.finish();
    assert.equal(chunks.length, 3, "header, value, CRLF");
    assert.equal(chunks[1], big, "the value Buffer itself, not a copy");
    assert.equal(Buffer.concat(chunks).toString("latin1"), `ms k 100000 O0001\r\n${"a".repeat(100_000)}\r\n`);
  });

  it("ma: incr, decr, delta, vivify with initial and ttl", () => {
    assert.equal(wire(req(Op.Arith, { key: "c", delta: 1n })), "ma c v O0007\r\n");
    assert.equal(wire(req(Op.Arith, { key: "c", delta: 5n, mode: 0x44 })), "ma c MD D5 v O0007\r\n");
    assert.equal(
      wire(req(Op.Arith, { key: "c", delta: 2n, initial: 10n, ttl: 60 })),
      "ma c D2 N60 J10 T60 v O0007\r\n",
    );
    assert.equal(wire(req(Op.Arith, { key: "c", delta: 1n, initial: 0n })), "ma c N0 J0 v O0007\r\n");
  });

  it("batches: one quiet line per key with consecutive opaques, then mn", () => {
    const b = new Batch(["a", "Yg==", "c"], [false, true, false]);
    const r = req(Op.GetMany, { batch: b });
    const w = new Writer();
    assert.equal(encodeMeta(w, r, 10), 3);
    assert.equal(
      Buffer.concat(w.finish()).toString(),
      "mg a v f q O000A\r\nmg Yg== b v f q O000B\r\nmg c v f q O000C\r\nmn\r\n",
    );
    assert.equal(
      wire(req(Op.DeleteMany, { batch: new Batch(["a", "b"], null) }), 3),
      "md a q O0003\r\nmd b q O0004\r\nmn\r\n",
    );
    const sb = new Batch(["a", "b"], null);
    sb.values = ["x", Buffer.from("yy")];
    sb.valueLengths = [1, 2];
    sb.valueFlags = [0, 1];
    assert.equal(
      wire(req(Op.StoreMany, { batch: sb, ttl: 5 }), 0),
      "ms a 1 T5 q O0000\r\nx\r\nms b 2 F1 T5 q O0001\r\nyy\r\nmn\r\n",
    );
  });

  it("server commands", () => {
    assert.equal(wire(req(Op.Stats)), "stats\r\n");
    assert.equal(wire(req(Op.Stats, { arg: "slabs" })), "stats slabs\r\n");
    assert.equal(wire(req(Op.Version)), "version\r\n");
    assert.equal(wire(req(Op.Flush, { arg: "10" })), "flush_all 10\r\n");
    assert.equal(wire(req(Op.Noop)), "mn\r\n");
  });

  it("Writer.uint writes every magnitude in decimal", () => {
    const w = new Writer();
    const nums = [0, 9, 10, 99, 100, 12345, 4294967295, 999999999, 2 ** 53 - 1];
    for (const n of nums) {
      w.ensure(20);
      w.uint(n);
      w.byte(32);
    }
    assert.equal(Buffer.concat(w.finish()).toString(), `${nums.join(" ")} `);
  });

  it("Writer keeps earlier views intact when it moves to a new slab", () => {
    const w = new Writer();
    const views: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      w.ensure(100);
      w.ascii(`line-${i}-${"x".repeat(50)}`);
      w.crlf();
      if (i % 10 === 9) views.push(...w.finish());
    }
    const text = Buffer.concat(views).toString();
    const lines = text.split("\r\n").slice(0, -1);
    assert.equal(lines.length, 2000);
    for (const [i, l] of lines.entries()) assert.equal(l, `line-${i}-${"x".repeat(50)}`);
  });
});
