/**
 * `bigValues` against real memcached servers with their default 1 MiB item size: values far over it
 * round-trip byte for byte, stored in mcrouter's BigValueRoute format (checked against the reference
 * in `test/support/mcrouter-big-value.ts`, on a bare socket), and a read returns a whole value or a
 * miss — with chunks missing, a suffix that does not match, writers racing, a server killed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import {
  Client,
  InvalidArgumentError,
  InvalidKeyError,
  SerializationError,
  ValueTooLargeError,
} from "../../src/index.ts";
import { KeyvMemcachio } from "../../src/keyv.ts";
import { bigValueServers, MiB, THRESHOLD } from "../support/big-values-harness.ts";
import { MC_MSG_FLAG_BIG_VALUE, refDecode, refEncode, refParseIndex } from "../support/mcrouter-big-value.ts";
import { remainingTtl } from "../support/raw.ts";

const fleet = bigValueServers();
const { client, raw, flushAll, key } = fleet;

describe("bigValues: mcrouter's format", () => {
  it("the reference decoder reads what memcachio wrote: chunks `key:i:suffix`, index `1-N-suffix` with 0x8000", async () => {
    await flushAll();
    const mc = client();
    const r = raw();
    const value = randomBytes(8 * MiB + 123);
    const k = key("ours");
    assert.equal(await mc.set(k, value, { ttl: 300 }), true);
    const index = await r.get(k);
    assert.ok(index !== undefined);
    assert.equal(index.flags, 1 | MC_MSG_FLAG_BIG_VALUE, "the Buffer flag with mcrouter's big-value bit");
    assert.match(index.value.toString(), /^1-9-\d{1,10}$/, "ceil(8 MiB + 123 / threshold) = 9 chunks");
    const info = refParseIndex(index.value)!;
    assert.ok(info.suffix <= 0xffff_ffffn, "a 32-bit suffix, as mcrouter writes");
    const first = await r.get(`${k}:0:${info.suffix}`);
    assert.equal(first?.value.length, THRESHOLD, "chunks of the threshold's size");
    assert.equal(first?.flags, 1, "chunks carry the value's flags, as mcrouter's");
    const got = await refDecode(k, (key) => r.get(key));
    assert.ok(got !== undefined, "the reference finds every chunk");
    assert.ok(got.value.equals(value), "byte for byte");
    assert.equal(got.flags, 1);
    // A string, and a JSON value: the flags of the default codec ride on the index.
    const text = "é".repeat(2 * MiB);
    await mc.set(`${k}:s`, text);
    const s = await refDecode(`${k}:s`, (key) => r.get(key));
    assert.equal(s?.flags, 0);
    assert.equal(s?.value.toString("utf8"), text);
  });

  it("memcachio reads what the reference wrote (Buffer, string, JSON, and a small threshold)", async () => {
    await flushAll();
    const r = raw();
    const mc = client();
    const value = randomBytes(5 * MiB + 7);
    const k = key("theirs");
    for (const item of refEncode(k, value, 1, 700_000))
      assert.equal(await r.set(item.key, item.value, item.flags), true);
    const got = await mc.get(k);
    assert.ok(Buffer.isBuffer(got) && got.equals(value), "a Buffer, byte for byte");
    const text = `${"x".repeat(3 * MiB)}ü`;
    for (const item of refEncode(`${k}:s`, Buffer.from(text), 0, 1000))
      await r.set(item.key, item.value, item.flags);
    assert.equal(await mc.get(`${k}:s`), text, "3,146 chunks of 1000 bytes");
    const doc = { list: Array.from({ length: 100_000 }, (_, i) => i) };
    for (const item of refEncode(`${k}:j`, Buffer.from(JSON.stringify(doc)), 2, 100_000))
      await r.set(item.key, item.value, item.flags);
    assert.deepEqual(await mc.get(`${k}:j`), doc);
    // A suffix written with leading zeros names its chunks by the number (mcrouter formats what it parsed).
    for (const item of refEncode(`${k}:z`, Buffer.from("abcdef"), 0, 4, 7n))
      await r.set(item.key, item.value, item.flags);
    await r.set(`${k}:z`, "1-2-007", MC_MSG_FLAG_BIG_VALUE);
    assert.equal(await mc.get(`${k}:z`), "abcdef");
  });

  it("a missing chunk, a suffix that does not match, or an index that is not one: a miss (get, gets, getMany)", async () => {
    await flushAll();
    const mc = client();
    const r = raw();
    const value = randomBytes(3 * MiB);
    const k = key("broken");
    await mc.set(k, value);
    const info = refParseIndex((await r.get(k))!.value)!;
    assert.ok((await mc.get(k)) instanceof Buffer);
    assert.equal(await r.delete(`${k}:1:${info.suffix}`), true);
    assert.equal(await mc.get(k), undefined, "chunk 1 is gone");
    assert.equal(await mc.gets(k), undefined);
    assert.equal((await mc.getMany([k])).size, 0);
    // A complete set of chunks under another suffix: the index names a write whose chunks are gone.
    await mc.set(k, value);
    const good = refParseIndex((await r.get(k))!.value)!;
    await r.set(k, `1-4-${(good.suffix + 1n) % 0xffff_ffffn}`, 1 | MC_MSG_FLAG_BIG_VALUE);
    assert.equal(await mc.get(k), undefined, "suffix mismatch");
    // An index an append changed, another version, no chunks: not an index, so a miss.
    for (const bad of [`1-4-${good.suffix}x`, `2-4-${good.suffix}`, `1-0-${good.suffix}`, "garbage"]) {
      await r.set(k, bad, 1 | MC_MSG_FLAG_BIG_VALUE);
      assert.equal(await mc.get(k), undefined, bad);
    }
    await r.set(k, `1-4-${good.suffix}`, 1 | MC_MSG_FLAG_BIG_VALUE);
    assert.ok(((await mc.get(k)) as Buffer).equals(value), "the good index again: the whole value");
  });
});

describe("bigValues: round trips", () => {
  it("8 MiB and 40 MiB, Buffer and string, over 3 servers: byte for byte", async (t: TestContext) => {
    await flushAll();
    const mc = client({ servers: fleet.labels() });
    for (const size of [8 * MiB, 40 * MiB]) {
      const buf = randomBytes(size);
      const k = key(`rt${size}`);
      let at = performance.now();
      assert.equal(await mc.set(k, buf), true);
      const setMs = performance.now() - at;
      at = performance.now();
      const got = (await mc.get(k)) as Buffer;
      const getMs = performance.now() - at;
      assert.ok(got.equals(buf), `${size} bytes back`);
      t.diagnostic(`${size / MiB} MiB Buffer: set ${setMs.toFixed(0)} ms, get ${getMs.toFixed(0)} ms`);
      const text = buf.toString("base64").slice(0, size);
      assert.equal(await mc.set(`${k}:s`, text), true);
      assert.equal(await mc.get(`${k}:s`), text);
      const many = await mc.getMany([k, `${k}:s`, `${k}:none`, "small"]);
      assert.equal(many.size, 2);
      assert.ok((many.get(k) as Buffer).equals(buf));
      assert.equal(many.get(`${k}:s`), text);
    }
  });

  it("values at or under the threshold are stored as they are; maxSize refuses with nothing written", async () => {
    await flushAll();
    const mc = client({ bigValues: { maxSize: 4 * MiB } });
    const r = raw();
    const k = key("small");
    await mc.set(k, Buffer.alloc(THRESHOLD, 7));
    assert.equal((await r.get(k))?.value.length, THRESHOLD, "one item of the threshold's size");
    const sets = async () => Number((await mc.stats())[fleet.labels()[0]!]!.cmd_set);
    const before = await sets();
    const err = await mc.set(`${k}:big`, randomBytes(4 * MiB + 1)).catch((e: unknown) => e);
    assert.ok(err instanceof ValueTooLargeError);
    assert.match(err.message, /bigValues\.maxSize is 4194304.*raise bigValues\.maxSize/);
    assert.equal(await sets(), before, "no chunk and no index written");
  });

  it("compression applies first: a value that compresses under the threshold is one item, others are chunks of compressed bytes", async () => {
    await flushAll();
    const mc = client({ compression: { threshold: 1024 } });
    const r = raw();
    const k = key("z");
    const repetitive = "memcachio ".repeat(MiB);
    await mc.set(k, repetitive);
    assert.equal((await r.get(k))?.flags, 0x10, "deflated, stored whole");
    assert.equal(await mc.get(k), repetitive);
    // Half random: compressed, still over the threshold.
    const half = Buffer.concat([randomBytes(3 * MiB), Buffer.alloc(3 * MiB)]);
    await mc.set(`${k}:half`, half);
    assert.equal((await r.get(`${k}:half`))?.flags, 0x11 | MC_MSG_FLAG_BIG_VALUE);
    assert.ok(((await mc.get(`${k}:half`)) as Buffer).equals(half));
  });
});

describe("bigValues: chunks left behind", () => {
  it("delete and touch reach the index alone by default; with reachChunks they reach every chunk", async () => {
    await flushAll();
    const r = raw();
    const plain = client();
    const k = key("orphans");
    await plain.set(k, randomBytes(3 * MiB), { ttl: 100 });
    const info = refParseIndex((await r.get(k))!.value)!;
    assert.equal(await plain.touch(k, 500), true);
    assert.ok(
      (await remainingTtl(fleet.labels()[0]!, `${k}:0:${info.suffix}`)) <= 100,
      "the chunks keep their TTL",
    );
    assert.equal(await plain.delete(k), true);
    assert.ok((await r.get(`${k}:0:${info.suffix}`)) !== undefined, "orphaned: left to expire or be evicted");

    const reaching = client({ bigValues: { reachChunks: true } });
    await reaching.set(k, randomBytes(3 * MiB), { ttl: 100 });
    const next = refParseIndex((await r.get(k))!.value)!;
    assert.equal(await reaching.touch(k, 500), true);
    for (let i = 0; i < 4; i++) {
      assert.ok(
        (await remainingTtl(fleet.labels()[0]!, `${k}:${i}:${next.suffix}`)) > 400,
        `chunk ${i} touched`,
      );
    }
    assert.ok((await remainingTtl(fleet.labels()[0]!, k)) > 400);
    assert.equal(await reaching.delete(k), true);
    for (let i = 0; i < 4; i++)
      assert.equal(await r.get(`${k}:${i}:${next.suffix}`), undefined, `chunk ${i} deleted`);
    assert.equal(await reaching.delete(k), false, "a delete of nothing");
    assert.equal(await reaching.touch(k, 10), false);
  });
});

describe("bigValues: fetch and Keyv", () => {
  it("fetch loads, stores and serves a big value; an index whose chunks are gone is loaded again", async () => {
    await flushAll();
    const mc = client();
    const r = raw();
    const value = randomBytes(3 * MiB);
    const k = key("fetch");
    let loads = 0;
    const loader = () => {
      loads++;
      return value;
    };
    assert.ok(((await mc.fetch(k, loader, { ttl: 60 })) as Buffer).equals(value));
    assert.ok(((await mc.fetch(k, loader, { ttl: 60 })) as Buffer).equals(value));
    assert.equal(loads, 1, "the second fetch is a hit");
    const info = refParseIndex((await r.get(k))!.value)!;
    await r.delete(`${k}:2:${info.suffix}`);
    assert.ok(((await mc.fetch(k, loader, { ttl: 60 })) as Buffer).equals(value));
    assert.equal(loads, 2, "a chunk gone: loaded and written back over the broken index");
    assert.ok(((await mc.get(k)) as Buffer).equals(value));
  });

  it("Keyv: set, get, setMany, getMany, delete of big values", async () => {
    await flushAll();
    const keyv = new KeyvMemcachio(client());
    const big = "k".repeat(3 * MiB);
    assert.equal(await keyv.set("a", big), true);
    assert.equal(await keyv.get("a"), big);
    await keyv.setMany([
      { key: "b", value: big },
      { key: "c", value: "small" },
    ]);
    assert.deepEqual(await keyv.getMany(["a", "b", "c", "d"]), [big, big, "small", undefined]);
    assert.equal(await keyv.delete("a"), true);
    assert.equal(await keyv.get("a"), undefined);
  });
});

describe("bigValues: refusals", () => {
  it("options are checked; a codec flag 0x8000 and a key with no room for chunk keys are refused", async () => {
    assert.throws(() => new Client({ bigValues: { threshold: 2 * MiB } }), InvalidArgumentError);
    assert.throws(() => new Client({ bigValues: { threshold: 1000, maxSize: 999 } }), InvalidArgumentError);
    assert.throws(
      () => new Client({ bigValues: { treshold: 1 } as never }),
      /Did you mean "bigValues.threshold"/,
    );
    const mc = client({
      codec: { encode: (v) => ({ data: String(v), flags: 0x8000 }), decode: (d) => d.toString() },
    });
    await assert.rejects(mc.set(key("flag"), "x"), SerializationError);
    const long = client();
    await assert.rejects(long.set("k".repeat(247), randomBytes(2 * MiB)), InvalidKeyError);
    assert.equal(await long.get("k".repeat(247)), undefined, "nothing was written");
  });
});
