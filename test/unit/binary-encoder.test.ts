import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeBinary } from "../../src/protocol/binary/encoder.ts";
import { Batch, Frame, Op } from "../../src/protocol/frame.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { be32, be64, packet } from "../support/binary-packets.ts";

function encode(req: Frame, opaque = 7): { bytes: Buffer; used: number } {
  const w = new Writer();
  const used = encodeBinary(w, req, opaque);
  return { bytes: Buffer.concat(w.finish()), used };
}

function req(op: Op, fields: Partial<Frame> = {}): Frame {
  const r = new Frame(op);
  Object.assign(r, fields);
  return r;
}

describe("binary encoder", () => {
  it("get, gets, delete, touch, getAndTouch", () => {
    assert.deepEqual(encode(req(Op.Get, { key: "foo" })).bytes, packet(0x00, 7, { key: "foo" }));
    assert.deepEqual(encode(req(Op.Gets, { key: "foo" })).bytes, packet(0x00, 7, { key: "foo" }));
    assert.deepEqual(
      encode(req(Op.Delete, { key: "foo" }), 0xfffffffe).bytes,
      packet(0x04, 0xfffffffe, { key: "foo" }),
    );
    assert.deepEqual(
      encode(req(Op.Touch, { key: "k", ttl: 30 })).bytes,
      packet(0x1c, 7, { key: "k", extras: be32(30) }),
    );
    assert.deepEqual(
      encode(req(Op.GetAndTouch, { key: "k", ttl: 0 })).bytes,
      packet(0x1d, 7, { key: "k", extras: be32(0) }),
    );
  });

  it("raw-byte keys go as they are (latin1 tokens, one char per byte)", () => {
    const raw = Buffer.from([0, 0x20, 0x0d, 0x0a, 0xff]);
    assert.deepEqual(
      encode(req(Op.Get, { key: raw.toString("latin1") })).bytes,
      packet(0x00, 7, { key: raw }),
    );
  });

  it("stores: set, add, replace with flags and expiration; append, prepend without; cas in the header", () => {
    const base = { key: "k", value: "hello", valueLength: 5, clientFlags: 0xfffffffe, ttl: 60 };
    const extras = [...be32(0xfffffffe), ...be32(60)];
    assert.deepEqual(
      encode(req(Op.Store, base)).bytes,
      packet(0x01, 7, { key: "k", extras, value: "hello" }),
    );
    assert.deepEqual(
      encode(req(Op.Store, { ...base, mode: 0x45 })).bytes,
      packet(0x02, 7, { key: "k", extras, value: "hello" }),
    );
    assert.deepEqual(
      encode(req(Op.Store, { ...base, mode: 0x52 })).bytes,
      packet(0x03, 7, { key: "k", extras, value: "hello" }),
    );
    assert.deepEqual(
      encode(req(Op.Store, { ...base, mode: 0x41 })).bytes,
      packet(0x0e, 7, { key: "k", value: "hello" }),
    );
    assert.deepEqual(
      encode(req(Op.Store, { ...base, mode: 0x50 })).bytes,
      packet(0x0f, 7, { key: "k", value: "hello" }),
    );
    const cas = 18446744073709551615n;
    assert.deepEqual(
      encode(req(Op.Store, { ...base, cas })).bytes,
      packet(0x01, 7, { key: "k", extras, value: "hello", cas }),
    );
    const empty = { key: "e", value: "", valueLength: 0, ttl: -1 };
    assert.deepEqual(
      encode(req(Op.Store, empty)).bytes,
      packet(0x01, 7, { key: "e", extras: [...be32(0), ...be32(0)] }),
    );
  });

  it("a big value goes out byte for byte (its own chunk, not copied)", () => {
    const value = Buffer.alloc(100_000, 0xab);
    const r = req(Op.Store, { key: "big", value, valueLength: value.length });
    assert.deepEqual(
      encode(r).bytes,
      packet(0x01, 7, { key: "big", extras: [...be32(0), ...be32(0)], value }),
    );
  });

  it("incr/decr: delta, initial, expiration; no initial → 0xffffffff (do not create)", () => {
    const d = 2n ** 64n - 1n;
    assert.deepEqual(
      encode(req(Op.Arith, { key: "c", delta: d, initial: 5n, ttl: 30 })).bytes,
      packet(0x05, 7, { key: "c", extras: [...be64(d), ...be64(5n), ...be32(30)] }),
    );
    assert.deepEqual(
      encode(req(Op.Arith, { key: "c", delta: 1n, initial: null, mode: 0x44 })).bytes,
      packet(0x06, 7, { key: "c", extras: [...be64(1n), ...be64(0n), ...be32(0xffffffff)] }),
    );
  });

  it("batches: GetKQ / SetQ / DeleteQ per key with consecutive opaques, then Noop", () => {
    const keys = ["a", "bb", "ccc"];
    const many = req(Op.GetMany, { batch: new Batch(keys, null) });
    const m = encode(many, 100);
    assert.equal(m.used, 4);
    assert.deepEqual(
      m.bytes,
      Buffer.concat([...keys.map((k, i) => packet(0x0d, 100 + i, { key: k })), packet(0x0a, 103)]),
    );

    const b = new Batch(["x", "y"], null);
    b.values = ["1", Buffer.from("22")];
    b.valueLengths = [1, 2];
    b.valueFlags = [3, 0];
    const s = encode(req(Op.StoreMany, { batch: b, ttl: 9 }), 5);
    assert.equal(s.used, 3);
    assert.deepEqual(
      s.bytes,
      Buffer.concat([
        packet(0x11, 5, { key: "x", extras: [...be32(3), ...be32(9)], value: "1" }),
        packet(0x11, 6, { key: "y", extras: [...be32(0), ...be32(9)], value: "22" }),
        packet(0x0a, 7),
      ]),
    );
    const del = encode(req(Op.DeleteMany, { batch: new Batch(["x"], null) }), 1);
    assert.deepEqual(del.bytes, Buffer.concat([packet(0x14, 1, { key: "x" }), packet(0x0a, 2)]));
  });

  it("stats, version, flush, noop, SASL", () => {
    assert.deepEqual(encode(req(Op.Stats)).bytes, packet(0x10, 7));
    assert.deepEqual(encode(req(Op.Stats, { arg: "slabs" })).bytes, packet(0x10, 7, { key: "slabs" }));
    assert.deepEqual(encode(req(Op.Version)).bytes, packet(0x0b, 7));
    assert.deepEqual(encode(req(Op.Flush)).bytes, packet(0x08, 7));
    assert.deepEqual(encode(req(Op.Flush, { arg: "10" })).bytes, packet(0x08, 7, { extras: be32(10) }));
    assert.deepEqual(encode(req(Op.Noop)).bytes, packet(0x0a, 7));
    assert.deepEqual(encode(req(Op.AuthMechs)).bytes, packet(0x20, 7));
    const payload = Buffer.from("\0user\0pw");
    assert.deepEqual(
      encode(req(Op.Auth, { key: "PLAIN", value: payload, valueLength: payload.length })).bytes,
      packet(0x21, 7, { key: "PLAIN", value: payload }),
    );
  });
});
