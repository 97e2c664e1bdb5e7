/**
 * Every command, against a real memcached over TCP and over a Unix socket (each protocol), and
 * through a real twemproxy in front of three (text, the only protocol it speaks).
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { after, before, describe, it } from "node:test";
import {
  Client,
  CHANNELS,
  ClientError,
  type ClientOptions,
  HashRing,
  InvalidArgumentError,
  SerializationError,
  UnsupportedError,
} from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { remainingTtl } from "../support/raw.ts";
import { current, forEachProtocol } from "../support/protocols.ts";
import { startTwemproxy, type Twemproxy } from "../support/twemproxy.ts";

/** Where the suite running now sends its commands. */
interface Target {
  /** The client's one server. */
  label: string;
  /** Options a client of this target needs besides its server. */
  options: ClientOptions;
  /** The remaining TTL of `key`, read on the memcached that holds it. */
  ttl(key: string): Promise<number>;
  /** The memcached's pid, when the target is one memcached. */
  pid: number | undefined;
  behindTwemproxy: boolean;
}

let target: Target;
let tcp: MemcachedServer;
let unix: MemcachedServer;
let backends: MemcachedServer[];
let proxy: Twemproxy;
let mc: Client;
let n = 0;
const key = (name: string) => `${name}:${process.pid}:${n++}`;

before(async () => {
  [tcp, unix, ...backends] = await Promise.all([
    startMemcached(),
    startMemcached({ unixSocket: true }),
    startMemcached(),
    startMemcached(),
    startMemcached(),
  ]);
  proxy = await startTwemproxy(backends);
});
after(async () => {
  await proxy.stop();
  await Promise.all([tcp, unix, ...backends].map((s) => s.kill()));
});

const direct =
  (server: () => MemcachedServer): (() => Target) =>
  () => ({
    label: server().label,
    options: {},
    ttl: (k) => remainingTtl(server().label, k),
    pid: server().pid,
    behindTwemproxy: false,
  });
const throughTwemproxy = (): Target => {
  const ring = new HashRing(backends.map((b) => b.label));
  return {
    label: proxy.label,
    options: { proxy: "twemproxy" },
    ttl: (k) => remainingTtl(ring.serverFor(k), k),
    pid: undefined,
    behindTwemproxy: true,
  };
};

for (const [name, make, protocols] of [
  ["tcp", direct(() => tcp), undefined],
  ["unix socket", direct(() => unix), undefined],
  ["twemproxy (nutcracker) in front of three", throughTwemproxy, ["text"] as const],
] as const) {
  describe(name, () => {
    before(() => {
      target = make();
    });
    suite(protocols);
  });
}

function suite(protocols: readonly ("text" | "meta" | "binary")[] | undefined): void {
  forEachProtocol(() => {
    before(() => {
      mc = new Client({
        ...target.options,
        protocol: current.protocol,
        servers: [target.label],
        timeout: 2000,
      });
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

      it("incr / decr of a value that is not a number: ClientError naming the server", async () => {
        const k = key("not-a-counter");
        await mc.set(k, "twelve");
        for (const count of [
          () => mc.incr(k),
          () => mc.decr(k),
          () => mc.incr(k, 1n, { initial: 0n, ttl: 60 }),
        ]) {
          const err = await count().then(String, (e: unknown) => e);
          assert.ok(err instanceof ClientError, String(err));
          assert.equal(err.server, target.label);
        }
        assert.equal(await mc.get(k), "twelve", "the value is left as it was");
      });

      it("incr / decr with ttl: the TTL of a created counter, renewed on an existing one", async () => {
        const k = key("ctr-ttl");
        const near = async (want: number) => {
          const left = await target.ttl(k);
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
        if (target.behindTwemproxy) {
          // twemproxy does not forward gat: refused before it is sent, with what to do instead.
          await assert.rejects(
            mc.getAndTouch(k, 200),
            (e) => e instanceof UnsupportedError && /touch/.test(e.message),
          );
          assert.ok((await target.ttl(k)) > 90, "the touch went through");
          return;
        }
        assert.equal(await mc.getAndTouch(k, 200), "t");
        assert.equal(await mc.getAndTouch(key("missing"), 10), undefined);
        const ttl = await target.ttl(k);
        assert.ok(ttl > 100 && ttl <= 200, `TTL now ${ttl}`);
      });

      it("a TTL over 30 days is sent as an absolute time, so the item does not expire at once", async () => {
        const k = key("ttl");
        const days40 = 40 * 24 * 3600;
        assert.equal(await mc.set(k, "long", { ttl: days40 }), true);
        assert.equal(await mc.get(k), "long");
        const ttl = await target.ttl(k);
        assert.ok(Math.abs(ttl - days40) < 10, `remaining TTL ${ttl}`);
        await assert.rejects(mc.set(k, "x", { ttl: -1 }), InvalidArgumentError);
        // A bounded TTL keeps every command line within its room (text has no opaque to catch a glued line).
        await assert.rejects(mc.touch(k, 1e300), InvalidArgumentError);
        await assert.rejects(mc.set(k, "x", { ttl: 2 ** 31 }), InvalidArgumentError);
        await assert.rejects(mc.set(k, "x", { ttl: 1.5 }), InvalidArgumentError);
      });

      it("getMany: hits by the given keys, misses absent, duplicates and base64 keys", async () => {
        // Keys sent base64 in meta; text has no such form (its own test refuses them).
        const odd = current.protocol === "text" ? "-odd" : " space é";
        const keys = Array.from({ length: 300 }, (_, i) =>
          i % 3 === 0 ? `${key("many")}${odd}` : key("many"),
        );
        for (const [i, k] of keys.entries()) if (i % 2 === 0) await mc.set(k, { i });
        const got = await mc.getMany([...keys, keys[0]!]);
        assert.equal(got.size, 150);
        for (const [i, k] of keys.entries()) assert.deepEqual(got.get(k), i % 2 === 0 ? { i } : undefined);
        assert.deepEqual(await mc.getMany([]), new Map());
        const bufKey = current.protocol === "text" ? Buffer.from("buf-key") : Buffer.from([1, 2, 3]);
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
        const v = await mc.version();
        assert.match(v[target.label] ?? "", /^1\.6\.\d+/);
        await mc.ping();
        if (target.behindTwemproxy) {
          // twemproxy closes the connection on stats and flush_all: refused first, typed, not a hang.
          await assert.rejects(mc.stats(), (e) => e instanceof UnsupportedError && /stats/.test(e.message));
          await assert.rejects(
            mc.flush(),
            (e) => e instanceof UnsupportedError && /flush_all/.test(e.message),
          );
          assert.match((await mc.version())[target.label] ?? "", /^1\.6\./, "the connection is still fine");
          return;
        }
        const st = await mc.stats();
        const mine = st[target.label];
        assert.ok(mine !== undefined);
        assert.match(mine.version ?? "", /^1\.6\.\d+$/);
        assert.match(mine.pid ?? "", /^\d+$/);
        assert.equal(Number(mine.pid), target.pid);
        const slabs = await mc.stats("settings");
        assert.ok(slabs[target.label]?.maxconns !== undefined);
        const k = key("flush");
        await mc.set(k, 1);
        await mc.flush();
        assert.equal(await mc.get(k), undefined);
        await assert.rejects(mc.stats("bad;group"), InvalidArgumentError);
        await assert.rejects(mc.flush({ delay: -1 }), InvalidArgumentError);
        // A group the server does not have: the request was wrong, not the connection.
        const closes: unknown[] = [];
        const onClose = (m: unknown) => closes.push(m);
        diagnostics.subscribe(CHANNELS.connectionClose, onClose);
        try {
          await assert.rejects(
            mc.stats("nosuchgroup"),
            (e) =>
              e instanceof ClientError && /no such stats group/.test(e.message) && e.server === target.label,
          );
          assert.equal(await mc.get(k), undefined);
        } finally {
          diagnostics.unsubscribe(CHANNELS.connectionClose, onClose);
        }
        assert.deepEqual(closes, [], "no connection was reset");
      });

      it("client flags from another writer read back as bytes, not mangled", async () => {
        const raw = new Client({
          ...target.options,
          protocol: current.protocol,
          servers: [target.label],
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
  }, protocols);
}
