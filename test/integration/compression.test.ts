/**
 * The `compression` option against a real memcached, both protocols: what is stored (checked with a
 * client whose codec hands out the raw stored bytes), what reads back, and what is refused.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { brotliDecompressSync, deflateSync, inflateSync } from "node:zlib";
import {
  Client,
  type ClientOptions,
  InvalidArgumentError,
  SerializationError,
  ValueTooLargeError,
} from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let server: MemcachedServer;
/** Clients made by a test, closed after the file. */
const clients: Client[] = [];

before(async () => {
  server = await startMemcached();
});
after(async () => {
  for (const c of clients) await c.close();
  await server.kill();
});

function client(options: Partial<ClientOptions> = {}): Client {
  const c = new Client({ protocol: current.protocol, servers: [server.label], timeout: 2000, ...options });
  clients.push(c);
  return c;
}

/** A client that reads and writes raw bytes with explicit flags: sees exactly what is stored. */
function rawClient(): Client {
  return client({
    codec: {
      encode: (v) => v as { data: Buffer; flags: number },
      decode: (data, flags) => ({ data, flags }),
    },
  });
}

/** Reads the bytes and flags stored under `key`. */
async function stored(key: string): Promise<{ data: Buffer; flags: number }> {
  const r = (await rawClient().get(key)) as { data: Buffer; flags: number } | undefined;
  assert.ok(r !== undefined, `${key} is stored`);
  return r;
}

/** ~200 KB of JSON that compresses well. */
const DOC = Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `user-${i}`, tags: ["a", "b"] }));
const DOC_JSON = JSON.stringify(DOC);

forEachProtocol((protocol) => {
  describe("compression", () => {
    it("a big JSON value is stored deflated (flags 0x12) and reads back equal", async () => {
      const mc = client({ compression: { threshold: 16_384 } });
      const key = `c:${protocol}:json`;
      assert.equal(await mc.set(key, DOC), true);
      const { data, flags } = await stored(key);
      assert.equal(flags, 0x10 | 2);
      assert.ok(data.length < DOC_JSON.length / 4, `${data.length} bytes stored for ${DOC_JSON.length}`);
      assert.equal(inflateSync(data).toString("utf8"), DOC_JSON);
      assert.deepEqual(await mc.get(key), DOC);
      // A client without the option reads it too: the flag bits say how.
      assert.deepEqual(await client().get(key), DOC);
    });

    it("brotli: strings and Buffers round-trip, flags 0x20 | type", async () => {
      const mc = client({ compression: { algorithm: "brotli", threshold: 1000 } });
      const text = "é🔑 memcachio ".repeat(500);
      const bytes = Buffer.from(text.repeat(2), "utf8");
      assert.equal(await mc.set(`c:${protocol}:s`, text), true);
      assert.equal(await mc.set(`c:${protocol}:b`, bytes), true);
      const s = await stored(`c:${protocol}:s`);
      assert.equal(s.flags, 0x20);
      assert.equal(brotliDecompressSync(s.data).toString("utf8"), text);
      assert.equal((await stored(`c:${protocol}:b`)).flags, 0x20 | 1);
      assert.equal(await mc.get(`c:${protocol}:s`), text);
      assert.deepEqual(await mc.get(`c:${protocol}:b`), bytes);
      const many = await mc.getMany([`c:${protocol}:s`, `c:${protocol}:b`, `c:${protocol}:none`]);
      assert.equal(many.get(`c:${protocol}:s`), text);
      assert.deepEqual(many.get(`c:${protocol}:b`), bytes);
      assert.equal(many.size, 2);
    });

    it("under the threshold, or when compressing does not pay, the value is stored as it is", async () => {
      const mc = client({ compression: { threshold: 4096 } });
      const small = "x".repeat(4095);
      const noise = randomBytes(64 * 1024);
      assert.equal(await mc.set(`c:${protocol}:small`, small), true);
      assert.equal(await mc.set(`c:${protocol}:noise`, noise), true);
      assert.deepEqual(await stored(`c:${protocol}:small`), { data: Buffer.from(small), flags: 0 });
      assert.deepEqual(await stored(`c:${protocol}:noise`), { data: noise, flags: 1 });
      assert.deepEqual(await mc.get(`c:${protocol}:noise`), noise);
    });

    it("a value over maxValueSize is stored when it compresses under it; one that does not is refused", async () => {
      const mc = client({ compression: {} });
      const big = "memcachio ".repeat(300_000); // 3 MB
      assert.equal(await mc.set(`c:${protocol}:3mb`, big), true);
      assert.equal(await mc.get(`c:${protocol}:3mb`), big);
      await assert.rejects(mc.set(`c:${protocol}:rnd`, randomBytes(2 * 1024 * 1024)), ValueTooLargeError);
      const capped = client({ compression: { maxDecompressedSize: 1_000_000 } });
      await assert.rejects(capped.set(`c:${protocol}:cap`, big), (err: unknown) => {
        assert.ok(err instanceof ValueTooLargeError);
        assert.match(err.message, /maxDecompressedSize/);
        return true;
      });
      // setMany compresses too.
      assert.deepEqual(
        await mc.setMany([
          [`c:${protocol}:m1`, big],
          [`c:${protocol}:m2`, DOC],
        ]),
        [true, true],
      );
      assert.equal((await stored(`c:${protocol}:m1`)).flags, 0x10);
      assert.deepEqual(await mc.get(`c:${protocol}:m2`), DOC);
    });

    it("append and prepend data is never compressed (it is glued to what is stored)", async () => {
      const mc = client({ compression: { threshold: 100 } });
      const key = `c:${protocol}:app`;
      assert.equal(await mc.set(key, "start|"), true);
      const tail = "t".repeat(10_000);
      assert.equal(await mc.append(key, tail), true);
      assert.equal(await mc.prepend(key, tail), true);
      assert.equal(await mc.get(key), `${tail}start|${tail}`);
      assert.equal((await stored(key)).flags, 0);
    });

    it("a corrupt compressed value fails that read with SerializationError; the connection goes on", async () => {
      const raw = rawClient();
      const mc = client();
      await raw.set(`c:${protocol}:bad`, { data: Buffer.from("not deflate at all"), flags: 0x10 });
      await raw.set(`c:${protocol}:ok`, { data: deflateSync("fine"), flags: 0x10 });
      await assert.rejects(mc.get(`c:${protocol}:bad`), SerializationError);
      assert.equal(await mc.get(`c:${protocol}:ok`), "fine");
      // Flags whose other bits are not one of our types were written by another client: raw bytes.
      await raw.set(`c:${protocol}:foreign`, { data: Buffer.from("theirs"), flags: 0x10 | 0x40 });
      assert.deepEqual(await mc.get(`c:${protocol}:foreign`), Buffer.from("theirs"));
    });

    it("a value that would inflate past maxDecompressedSize is not read (a compression bomb)", async () => {
      const raw = rawClient();
      const bomb = deflateSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 }); // ~50 KB → 50 MiB
      assert.ok(bomb.length < 100_000);
      await raw.set(`c:${protocol}:bomb`, { data: bomb, flags: 0x10 | 1 });
      const heap = process.memoryUsage().arrayBuffers;
      const mc = client({ compression: { maxDecompressedSize: 1024 * 1024 } });
      await assert.rejects(mc.get(`c:${protocol}:bomb`), (err: unknown) => {
        assert.ok(err instanceof SerializationError);
        assert.match(err.message, /maxDecompressedSize/);
        return true;
      });
      // Without the option the default bound (32 MiB) applies.
      await assert.rejects(client().get(`c:${protocol}:bomb`), SerializationError);
      assert.ok(process.memoryUsage().arrayBuffers - heap < 40 * 1024 * 1024);
      assert.equal(await mc.set(`c:${protocol}:after`, "still fine"), true);
      assert.equal(await mc.get(`c:${protocol}:after`), "still fine");
    });

    it("with a user codec: compressed on top of its bytes; colliding flag bits are refused", async () => {
      const codec = {
        encode: (v: unknown) => ({ data: Buffer.from(String(v)), flags: 7 }),
        decode: (data: Buffer, flags: number) => `${flags}:${data.toString()}`,
      };
      const mc = client({ codec, compression: { threshold: 100 } });
      const v = "y".repeat(5000);
      assert.equal(await mc.set(`c:${protocol}:u`, v), true);
      assert.equal((await stored(`c:${protocol}:u`)).flags, 0x10 | 7);
      assert.equal(await mc.get(`c:${protocol}:u`), `7:${v}`);
      const clash = client({
        codec: { encode: () => ({ data: "z", flags: 0x20 }), decode: (d) => d },
        compression: {},
      });
      await assert.rejects(clash.set(`c:${protocol}:clash`, 1), SerializationError);
      assert.equal(await mc.get(`c:${protocol}:clash`), undefined);
    });
  });
});

describe("compression options", () => {
  it("bad settings are refused with InvalidArgumentError", () => {
    const bad: unknown[] = [
      { threshold: 0 },
      { threshold: 1.5 },
      { algorithm: "zstd" },
      { level: 10 },
      { algorithm: "brotli", level: 12 },
      { maxDecompressedSize: -1 },
      "yes",
    ];
    for (const compression of bad) {
      assert.throws(
        () => new Client({ servers: ["127.0.0.1:1"], compression } as ClientOptions),
        InvalidArgumentError,
        JSON.stringify(compression),
      );
    }
  });
});
