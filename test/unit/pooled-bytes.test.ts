/**
 * Pooled memory for big values (`protocol/pooled-bytes.ts`) and its holders: the writer holds a
 * pooled value while it is written, and memory goes back to the pool only when every holder gave
 * its hold back — never while a socket write may still read it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { split } from "../../src/client/big-value-format.ts";
import { MetaParser } from "../../src/protocol/meta/parser.ts";
import { pooledFreeBytes, pooledOf, sizeClass, takeBytes } from "../../src/protocol/pooled-bytes.ts";
import { BIG_VALUE, Writer } from "../../src/protocol/writer.ts";
import { ByteCopies } from "../../src/serialization/byte-copies.ts";
import { ValueCodec } from "../../src/serialization/codec.ts";

/**
 * A size no other test in this file uses, of a size class no other test uses either (each a quarter
 * above the last: size classes are an eighth of a power of two wide), so its free list is this test's alone.
 */
let nextSize = 300_000;
const freshSize = () => (nextSize = Math.ceil(nextSize * 1.25));

describe("pooled bytes", () => {
  it("size classes: at least the size asked for, within an eighth of the power of two above it", () => {
    for (const n of [1, 7, 8 * 1024 + 1, 100 * 1024, 1024 * 1024, 1024 * 1024 + 1, 5_000_001]) {
      const c = sizeClass(n);
      const top = 2 ** Math.ceil(Math.log2(n));
      assert.ok(c >= n && c <= top, `${n} → ${c}`);
      assert.ok(c - n < top / 8 || n < 8, `${n} → ${c}: within a step`);
    }
    assert.equal(sizeClass(1024 * 1024), 1024 * 1024, "a power of two is its own class");
  });

  it("memory is handed out again only after the last hold is given back", () => {
    const n = freshSize();
    const a = takeBytes(n);
    a.hold(); // a socket write of it
    a.release(); // the taker is done: the write still holds it
    const b = takeBytes(n);
    assert.notEqual(b.memory.buffer, a.memory.buffer, "held by the write: not handed out");
    a.release(); // the write is done
    const c = takeBytes(n);
    assert.equal(c.memory.buffer, a.memory.buffer, "given back: reused");
    assert.equal(c.bytes.length, n);
    assert.equal(pooledOf(c.bytes), c);
    assert.equal(pooledOf(a.bytes), a, "each view keeps its own holder");
    b.release();
    c.release();
  });

  it("releasing more often than held is refused", () => {
    const p = takeBytes(freshSize());
    p.release();
    assert.throws(() => p.release(), /released more often than held/);
  });

  it("a big copy is pooled and independent of its source; small copies are not pooled", () => {
    const copies = new ByteCopies();
    const source = Buffer.alloc(freshSize(), 1);
    const copy = copies.copy(source);
    const p = copies.pooled;
    assert.ok(p !== null && pooledOf(copy) === p);
    source.fill(2);
    assert.ok(
      copy.every((x) => x === 1),
      "the copy keeps the bytes as they were",
    );
    copies.copy(Buffer.alloc(100));
    assert.equal(copies.pooled, null);
    p.release();
  });
});

describe("writer: big values and their memory", () => {
  it("a pooled Buffer is written as its own chunk and held until the caller gives the write's hold back", () => {
    const w = new Writer();
    const p = takeBytes(freshSize());
    p.bytes.fill(9);
    w.ensure(5);
    w.ascii("ms k ");
    w.value(p.bytes, p.bytes.length);
    const chunks = w.finish();
    assert.ok(chunks.includes(p.bytes), "the value itself, not a copy in a slab");
    const held = w.takeHeld();
    assert.deepEqual(held, [p]);
    assert.equal(p.holds, 2, "the taker's and the write's");
    assert.equal(w.takeHeld(), null, "handed out once");
    p.release(); // the call settled
    const other = takeBytes(p.bytes.length);
    assert.notEqual(other.memory.buffer, p.memory.buffer, "still written: not reused");
    for (const h of held!) h.release(); // the socket wrote it
    assert.equal(p.holds, 0);
    other.release();
  });

  it("a pooled copy smaller than a big value is copied into the slab, with nothing held for the socket", () => {
    // Below a big value, one more copy of a few KiB costs less than writing a chunk of its own.
    const w = new Writer();
    const p = takeBytes(BIG_VALUE / 2 + 1000);
    p.bytes.fill(7);
    w.ensure(5);
    w.ascii("ms k ");
    w.value(p.bytes, p.bytes.length);
    const chunks = w.finish();
    assert.ok(!chunks.includes(p.bytes));
    assert.ok(Buffer.concat(chunks).subarray(5).equals(p.bytes));
    assert.equal(w.takeHeld(), null);
    assert.equal(p.holds, 1, "the taker's alone: it may be given back once the call settles");
    p.release();
  });

  it("the tie from a view to its pooled memory is invisible: not enumerated, not shown by inspect", () => {
    const p = takeBytes(freshSize());
    assert.equal(pooledOf(p.bytes), p);
    assert.deepEqual(Object.keys(p.bytes.subarray(0, 2)), ["0", "1"]);
    assert.ok(!inspect(p.bytes.subarray(0, 3)).includes("Symbol"));
    assert.ok(!inspect(p.view(0, 3)).includes("Symbol"), inspect(p.view(0, 3)));
    assert.equal(pooledOf(p.view(0, 3)), p);
    assert.equal(pooledOf(Buffer.alloc(3)), undefined);
    p.release();
  });

  it("a Buffer that is not pooled is written as it is, with nothing held", () => {
    const w = new Writer();
    const v = Buffer.alloc(BIG_VALUE, 3);
    w.value(v, v.length);
    assert.ok(w.finish().includes(v));
    assert.equal(w.takeHeld(), null);
  });

  it("a big string is encoded once, into pooled memory held for the write: ASCII and UTF-8 alike", () => {
    for (const text of ["a".repeat(BIG_VALUE + 5), "é€😀x".repeat(BIG_VALUE / 4)]) {
      const w = new Writer();
      const length = Buffer.byteLength(text, "utf8");
      w.value(text, length);
      const chunks = w.finish();
      const held = w.takeHeld();
      assert.equal(held?.length, 1);
      const p = held![0]!;
      assert.ok(chunks.includes(p.bytes));
      assert.ok(p.bytes.equals(Buffer.from(text, "utf8")), "the UTF-8 bytes of the string");
      assert.equal(p.holds, 1, "the write's hold alone");
      p.release();
    }
  });

  it("a reset gives back what was encoded and never handed to the socket", () => {
    const w = new Writer();
    const p = takeBytes(freshSize());
    w.value(p.bytes, p.bytes.length);
    w.reset();
    assert.equal(p.holds, 1, "the write's hold was given back");
    p.release();
  });
});

describe("big values' chunks: views of one pooled copy", () => {
  it("each chunk is written as its own view and holds the whole copy until written", () => {
    const p = takeBytes(3 * BIG_VALUE + 100);
    for (let i = 0; i < p.bytes.length; i++) p.bytes[i] = i % 251;
    const parts = split(p.bytes, BIG_VALUE, p);
    assert.equal(parts.length, 4);
    const w = new Writer();
    for (const part of parts) {
      w.ensure(6);
      w.ascii("ms k\r\n");
      w.value(part, part.length);
    }
    const out = Buffer.concat(w.finish());
    const expected = Buffer.concat(parts.flatMap((part) => [Buffer.from("ms k\r\n"), part]));
    assert.ok(out.equals(expected), "each chunk's bytes, not the whole copy's");
    const held = w.takeHeld()!;
    assert.equal(held.length, 3, "the three chunks big enough to go out as they are");
    assert.ok(held.every((h) => h === p));
    assert.equal(p.holds, 4);
    for (const h of held) h.release();
    p.release();
    assert.equal(p.holds, 0);
  });
});

describe("reads: a value over several socket reads is assembled in pooled memory", () => {
  /** A meta parser whose replies are decoded by the default codec, as a client's are. */
  function reader(): { parser: MetaParser; values: unknown[] } {
    const codec = new ValueCodec();
    const values: unknown[] = [];
    const parser = new MetaParser(
      (r) => values.push(codec.decode(r.value, r.valueStart, r.valueEnd, r.clientFlags, r.ownsValue)),
      4 * 1024 * 1024,
    );
    return { parser, values };
  }
  /** Feeds a `VA` of `data` with client flags `flags`, cut in two socket reads. */
  function feedCut(parser: MetaParser, data: Buffer, flags: number): void {
    const whole = Buffer.concat([Buffer.from(`VA ${data.length} f${flags}\r\n`), data, Buffer.from("\r\n")]);
    const cut = Math.floor(whole.length / 2);
    parser.feed(whole.subarray(0, cut));
    parser.feed(whole.subarray(cut));
  }

  it("decoded to a string, its memory goes back to the pool for the next one", () => {
    const n = freshSize();
    const { parser, values } = reader();
    const before = pooledFreeBytes();
    feedCut(parser, Buffer.alloc(n, 0x61), 0);
    assert.equal(values[0], "a".repeat(n));
    assert.equal(pooledFreeBytes(), before + sizeClass(n + 2), "the value and its CRLF, given back");
    feedCut(parser, Buffer.alloc(n, 0x62), 0);
    assert.equal(values[1], "b".repeat(n), "assembled again in the same memory");
    assert.equal(pooledFreeBytes(), before + sizeClass(n + 2));
  });

  it("decoded to bytes, the reader keeps that memory: later reads never write over it", () => {
    const n = freshSize();
    const { parser, values } = reader();
    feedCut(parser, Buffer.alloc(n, 0x11), 1);
    for (let i = 0; i < 4; i++) feedCut(parser, Buffer.alloc(n, 0x20 + i), i % 2);
    assert.ok((values[0] as Buffer).equals(Buffer.alloc(n, 0x11)), "the first value as it was read");
    assert.ok((values[2] as Buffer).equals(Buffer.alloc(n, 0x21)));
    assert.equal(values[3], "\x22".repeat(n));
  });
});

// Last in this file: it fills the free memory to its bound.
describe("free memory at its bound", () => {
  it("memory given back takes the place of sizes asked for longer ago, not of more recent ones", () => {
    const MiB = 1024 * 1024;
    // Fill the free memory with an old size: more than the bound, given back together.
    const old = Array.from({ length: 48 }, () => takeBytes(MiB));
    for (const p of old) p.release();
    const full = pooledFreeBytes();
    assert.ok(full <= 32 * MiB && full > 30 * MiB, `free memory at its bound: ${full}`);
    // A new size, given back: kept, in place of some of the old size's memory.
    const recent = takeBytes(2 * MiB);
    recent.release();
    assert.ok(pooledFreeBytes() <= 32 * MiB);
    const again = takeBytes(2 * MiB);
    assert.equal(again.memory.buffer, recent.memory.buffer, "the new size's memory was kept and reused");
    again.release();
    // Memory of a size asked for longer ago, given back now, does not push out a more recent size's.
    const older = takeBytes(3 * MiB);
    const recentAgain = takeBytes(2 * MiB);
    assert.equal(recentAgain.memory.buffer, recent.memory.buffer);
    recentAgain.release(); // free again, and asked for after the 3 MiB size
    older.release();
    assert.ok(pooledFreeBytes() <= 32 * MiB);
    assert.equal(takeBytes(2 * MiB).memory.buffer, recent.memory.buffer, "the recent size's memory stayed");
    // Memory that cannot fit lets go of nothing: over the bound by itself, or with too little older.
    let held = pooledFreeBytes();
    takeBytes(40 * MiB).release();
    assert.equal(pooledFreeBytes(), held, "a size over the bound is let go, and nothing else");
    const asked = takeBytes(16 * MiB); // asked for before the 4 MiB size below, given back after it
    const newer = Array.from({ length: 7 }, () => takeBytes(4 * MiB));
    for (const p of newer) p.release();
    held = pooledFreeBytes();
    assert.ok(held + 16 * MiB > 32 * MiB, "no room left for it");
    asked.release();
    assert.equal(pooledFreeBytes(), held, "too little older memory: none of it let go");
  });
});
