import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, InvalidArgumentError, SerializationError } from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { remainingTtl } from "../support/raw.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

/** The server of the suite running now: over TCP, then over a Unix socket. */
let server: MemcachedServer;
let tcp: MemcachedServer;
let unix: MemcachedServer;
let mc: Client;
let n = 0;
const key = (name: string) => `${name}:${process.pid}:${n++}`;

before(async () => {
  [tcp, unix] = await Promise.all([startMemcached(), startMemcached({ unixSocket: true })]);
});
after(async () => {
  await Promise.all([tcp.kill(), unix.kill()]);
});

for (const transport of ["tcp", "unix socket"] as const) {
  describe(transport, () => {
    before(() => {
      server = transport === "tcp" ? tcp : unix;
    });
    suite();
  });
}

function suite(): void {
  forEachProtocol(() => {
    before(() => {
      mc = new Client({ protocol: current.protocol, servers: [server.label], timeout: 2000 });
    });
    after(async () => {
      await mc.close();
    });

    describe("every command against a real memcached", () => {
      it("set / get round-trips every value type", async () => {
        const values: unknown[] = [
          "plain",
          "",
          "ключ 🔑 ünïcödé",
          Buffer.from([0, 1, 13, 10, 255]),
          { nested: { list: [1, "two", null, true] } },
          [1, 2, 3],
          12.75,
          -3,
          2n ** 64n + 5n,
          false,
        ];
        for (const v of values) {
          const k = key("rt");
          assert.equal(await mc.set(k, v), true);
          assert.deepEqual(await mc.get(k), v);
        }
      });

      it("get of a missing key is undefined", async () => {
        assert.equal(await mc.get(key("missing")), undefined);
      });

      it("gets returns value, CAS and flags; cas succeeds once, then fails", async () => {
        const k = key("cas");
        await mc.set(k, "v1");
        const g = await mc.gets(k);
        assert.ok(g !== undefined);
        assert.equal(g.value, "v1");
        assert.equal(typeof g.cas, "bigint");
        assert.equal(g.flags, 0);
        assert.equal(await mc.cas(k, "v2", g.cas), true);
        assert.equal(await mc.cas(k, "v3", g.cas), false, "stale CAS");
        assert.equal(await mc.get(k), "v2");
        assert.equal(await mc.cas(key("gone"), "x", g.cas), false, "missing key");
        assert.equal(await mc.gets(key("missing")), undefined);
        await assert.rejects(mc.cas(k, "x", -1n), InvalidArgumentError);
      });

      it("add, replace, append, prepend", async () => {
        const k = key("arp");
        assert.equal(await mc.replace(k, "x"), false, "replace on missing");
        assert.equal(await mc.append(k, "x"), false, "append on missing");
        assert.equal(await mc.prepend(k, "x"), false, "prepend on missing");
        assert.equal(await mc.add(k, "mid"), true);
        assert.equal(await mc.add(k, "again"), false, "add on existing");
        assert.equal(await mc.append(k, ">"), true);
        assert.equal(await mc.prepend(k, "<"), true);
        assert.equal(await mc.get(k), "<mid>");
        assert.equal(await mc.replace(k, { r: 1 }), true);
        assert.deepEqual(await mc.get(k), { r: 1 });
      });

      it("delete reports whether the key existed", async () => {
        const k = key("del");
        await mc.set(k, 1);
        assert.equal(await mc.delete(k), true);
        assert.equal(await mc.delete(k), false);
        assert.equal(await mc.get(k), undefined);
      });

      it("incr / decr: u64 bigint, initial, clamp at 0, wrap at 2^64", async () => {
        const k = key("ctr");
        assert.equal(await mc.incr(k), undefined, "missing, no initial");
        assert.equal(await mc.incr(k, 5n, { initial: 100n }), 100n, "created with initial");
        assert.equal(await mc.incr(k, 5), 105n);
        assert.equal(await mc.decr(k, 1000n), 0n, "decr clamps at 0");
        // Counters read back as decimal text; memcached may leave a shrunk counter space-padded ("0  ").
        assert.match(String(await mc.get(k)), /^0 *$/);
        assert.equal(await mc.incr(k, 7n), 7n, "a padded counter still counts");
        const big = key("ctr");
        await mc.set(big, "18446744073709551615");
        assert.equal(await mc.incr(big, 2n), 1n, "incr wraps at 2^64");
        await assert.rejects(mc.incr(k, -1n), InvalidArgumentError);
        await assert.rejects(mc.incr(k, 2n ** 64n), InvalidArgumentError);
        await assert.rejects(mc.incr(k, 1.5), InvalidArgumentError);
      });

      it("incr / decr with ttl: the TTL of a created counter, renewed on an existing one (both protocols)", async () => {
        const k = key("ctr-ttl");
        const near = async (want: number) => {
          const left = await remainingTtl(server.label, k);
          assert.ok(left <= want && left >= want - 5, `TTL ${left}, expected about ${want}`);
        };
        assert.equal(await mc.incr(k, 1n, { ttl: 100 }), undefined, "missing, no initial: nothing created");
        assert.equal(await mc.get(k), undefined);
        assert.equal(await mc.incr(k, 1n, { initial: 10n, ttl: 100 }), 10n);
        await near(100);
        assert.equal(await mc.incr(k, 2n, { ttl: 5000 }), 12n);
        await near(5000);
        assert.equal(await mc.decr(k, 1n, { ttl: 300 }), 11n);
        await near(300);
        assert.equal(await mc.incr(k, 1n), 12n, "no ttl: the TTL stays");
        await near(300);
      });

      it("touch and getAndTouch", async () => {
        const k = key("touch");
        assert.equal(await mc.touch(k, 10), false);
        await mc.set(k, "t", { ttl: 1 });
        assert.equal(await mc.touch(k, 100), true);
        assert.equal(await mc.getAndTouch(k, 200), "t");
        assert.equal(await mc.getAndTouch(key("missing"), 10), undefined);
        const ttl = await remainingTtl(server.label, k);
        assert.ok(ttl > 100 && ttl <= 200, `TTL now ${ttl}`);
      });

      it("a TTL over 30 days is sent as an absolute time, so the item does not expire at once", async () => {
        const k = key("ttl");
        const days40 = 40 * 24 * 3600;
        assert.equal(await mc.set(k, "long", { ttl: days40 }), true);
        assert.equal(await mc.get(k), "long");
        const ttl = await remainingTtl(server.label, k);
        assert.ok(Math.abs(ttl - days40) < 10, `remaining TTL ${ttl}`);
        await assert.rejects(mc.set(k, "x", { ttl: -1 }), InvalidArgumentError);
        await assert.rejects(mc.set(k, "x", { ttl: 1.5 }), InvalidArgumentError);
      });

      it("getMany: hits by the given keys, misses absent, duplicates and base64 keys", async () => {
        const keys = Array.from({ length: 300 }, (_, i) =>
          i % 3 === 0 ? `${key("many")} space é` : key("many"),
        );
        for (const [i, k] of keys.entries()) if (i % 2 === 0) await mc.set(k, { i });
        const got = await mc.getMany([...keys, keys[0]!]);
        assert.equal(got.size, 150);
        for (const [i, k] of keys.entries()) assert.deepEqual(got.get(k), i % 2 === 0 ? { i } : undefined);
        assert.deepEqual(await mc.getMany([]), new Map());
        const bufKey = Buffer.from([1, 2, 3]);
        await mc.set(bufKey, "b");
        const byBuf = await mc.getMany([bufKey]);
        assert.equal(byBuf.get(bufKey), "b");
      });

      it("setMany and deleteMany report per entry", async () => {
        const k1 = key("sm");
        const k2 = key("sm");
        assert.deepEqual(
          await mc.setMany(
            [
              [k1, "one"],
              [k2, { two: 2 }],
            ],
            { ttl: 100 },
          ),
          [true, true],
        );
        assert.deepEqual(
          await mc.getMany([k1, k2]),
          new Map<string, unknown>([
            [k1, "one"],
            [k2, { two: 2 }],
          ]),
        );
        assert.deepEqual(await mc.setMany(new Map([[k1, 1]])), [true]);
        assert.deepEqual(await mc.deleteMany([k1, key("nothere"), k2]), [true, false, true]);
        assert.deepEqual(await mc.getMany([k1, k2]), new Map());
        assert.deepEqual(await mc.setMany([]), []);
        await assert.rejects(mc.setMany([[k1, undefined]]), SerializationError);
      });

      it("stats, version, ping and flush", async () => {
        const st = await mc.stats();
        const mine = st[server.label];
        assert.ok(mine !== undefined);
        assert.match(mine.version ?? "", /^1\.6\.\d+$/);
        assert.match(mine.pid ?? "", /^\d+$/);
        assert.equal(Number(mine.pid), server.pid);
        const slabs = await mc.stats("settings");
        assert.ok(slabs[server.label]?.maxconns !== undefined);
        const v = await mc.version();
        assert.match(v[server.label] ?? "", /^1\.6\.\d+/);
        await mc.ping();
        const k = key("flush");
        await mc.set(k, 1);
        await mc.flush();
        assert.equal(await mc.get(k), undefined);
        await assert.rejects(mc.stats("bad;group"), InvalidArgumentError);
        await assert.rejects(mc.flush({ delay: -1 }), InvalidArgumentError);
      });

      it("client flags from another writer read back as bytes, not mangled", async () => {
        const raw = new Client({
          protocol: current.protocol,
          servers: [server.label],
          codec: { encode: (v) => ({ data: String(v), flags: 0xabcd0000 }), decode: (d) => d },
        });
        try {
          const k = key("foreign");
          await raw.set(k, "text");
          const got = await mc.get(k);
          assert.ok(Buffer.isBuffer(got));
          assert.equal(got.toString(), "text");
          const g = await mc.gets(k);
          assert.equal(g?.flags, 0xabcd0000);
        } finally {
          await raw.close();
        }
      });
    });
  });
}
