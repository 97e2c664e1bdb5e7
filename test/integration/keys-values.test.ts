import assert from "node:assert/strict";
import { runInNewContext } from "node:vm";
import { after, before, describe, it } from "node:test";
import {
  Client,
  InvalidArgumentError,
  InvalidKeyError,
  SerializationError,
  ServerError,
  ValueTooLargeError,
} from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let server: MemcachedServer;
let mc: Client;

before(async () => {
  server = await startMemcached();
});
after(async () => {
  await server.kill();
});

async function serverStat(name: string): Promise<number> {
  const st = await mc.stats();
  return Number(st[server.label]?.[name]);
}

forEachProtocol(() => {
  before(() => {
    mc = new Client({ protocol: current.protocol, servers: [server.label], timeout: 2000 });
  });
  after(async () => {
    await mc.close();
  });

  describe("keys", () => {
    it("binary and unicode keys round-trip and stay distinct", async () => {
      const keys = [
        "ключ",
        "🔑",
        "a b",
        "tab\tkey",
        Buffer.from([0, 255, 10]),
        Buffer.from([0, 255, 11]),
        "é".repeat(93),
      ];
      if (current.protocol === "text") {
        // The text protocol has no base64 form: such keys are refused, with the reason.
        for (const k of keys) await assert.rejects(mc.set(k, "v"), /text protocol cannot carry/);
        const ascii = Buffer.from("plain-buffer-key");
        assert.equal(await mc.set(ascii, "buf"), true);
        assert.equal(await mc.get("plain-buffer-key"), "buf", "a printable Buffer key is its bytes");
        return;
      }
      for (const [i, k] of keys.entries()) assert.equal(await mc.set(k, `v${i}`), true);
      for (const [i, k] of keys.entries()) assert.equal(await mc.get(k), `v${i}`);
    });

    it("a CRLF-injection attempt through a key stores under that exact key and runs nothing", async () => {
      const evil = "x\r\nset injected 0 0 2\r\nhi\r\nmg";
      if (current.protocol === "text") await assert.rejects(mc.set(evil, "safe"), InvalidKeyError);
      else assert.equal(await mc.set(evil, "safe"), true);
      if (current.protocol !== "text") assert.equal(await mc.get(evil), "safe");
      assert.equal(await mc.get("injected"), undefined);
      assert.equal(await mc.get("x"), undefined);
    });

    it("invalid keys are refused with InvalidKeyError before anything is sent", async () => {
      const before = await serverStat("cmd_get");
      const bad: unknown[] = [
        "",
        "k".repeat(251),
        "é".repeat(126),
        Buffer.alloc(0),
        Buffer.alloc(251, 0),
        42,
        null,
      ];
      // Meta sends such keys base64, which must fit 250 characters: 186 raw bytes at most.
      if (current.protocol === "meta") bad.push("é".repeat(94), Buffer.alloc(187, 0));
      // Text has no base64: any key that is not printable ASCII.
      if (current.protocol === "text") bad.push("a b", "é", Buffer.from([0x41, 0x0a]));
      for (const k of bad) {
        await assert.rejects(mc.get(k as string), InvalidKeyError, String(k).slice(0, 10));
        await assert.rejects(mc.set(k as string, "v"), InvalidKeyError);
      }
      await assert.rejects(mc.getMany(["ok", ""]), InvalidKeyError);
      if (current.protocol === "meta") {
        // Each key of a batch is paired by an opaque of its own (24 bits): more keys would repeat them.
        const tooMany = new Array<string>(2 ** 24).fill("k");
        await assert.rejects(mc.getMany(tooMany), InvalidArgumentError);
        await assert.rejects(mc.deleteMany(tooMany), InvalidArgumentError);
      }
      assert.equal(await serverStat("cmd_get"), before, "no get reached the server");
      assert.equal(await mc.set("k".repeat(250), "max"), true, "250 bytes is fine");
      assert.equal(await mc.get("k".repeat(250)), "max");
      if (current.protocol === "binary") {
        // Binary keys are length-prefixed raw bytes: any 250 bytes will do.
        const raw = Buffer.alloc(250, 0);
        raw[249] = 0xff;
        assert.equal(await mc.set(raw, "raw"), true);
        assert.equal(await mc.get(raw), "raw");
        assert.equal(await mc.set("é".repeat(125), "utf8"), true);
        assert.equal(await mc.get("é".repeat(125)), "utf8");
      }
    });

    it("keyPrefix is applied on the wire and counted in the limit", async () => {
      const pre = new Client({ protocol: current.protocol, servers: [server.label], keyPrefix: "app:" });
      try {
        await pre.set("user", "prefixed");
        assert.equal(await mc.get("app:user"), "prefixed");
        assert.equal(await pre.get("user"), "prefixed");
        await assert.rejects(pre.get("k".repeat(247)), InvalidKeyError);
        if (current.protocol === "text") await assert.rejects(pre.set("a b", "b64"), InvalidKeyError);
        else {
          await pre.set("a b", "b64");
          assert.equal(await mc.get("app:a b"), "b64", "prefix is inside the base64 token");
        }
      } finally {
        await pre.close();
      }
    });
  });

  describe("values", () => {
    it("large values (up to the limit) round-trip byte for byte", async () => {
      for (const size of [16 * 1024, 100_000, 1024 * 1024 - 512]) {
        const v = Buffer.alloc(size);
        for (let i = 0; i < size; i++) v[i] = (i * 31 + size) & 0xff;
        assert.equal(await mc.set(`big:${size}`, v), true);
        const got = await mc.get<Buffer>(`big:${size}`);
        assert.ok(got?.equals(v), `size ${size}`);
      }
    });

    it("what is stored is the value as it was at the call: a buffer changed after set() returns changes nothing", async () => {
      const buf = Buffer.from("original bytes");
      const bytes = new Uint8Array(Buffer.from("original array"));
      const stored = [mc.set("alias:buf", buf), mc.set("alias:u8", bytes), mc.setMany([["alias:many", buf]])];
      buf.fill(0x78); // before the requests are written (never in the call itself)
      bytes.fill(0x79);
      await Promise.all(stored);
      assert.deepEqual(await mc.get("alias:buf"), Buffer.from("original bytes"));
      assert.deepEqual(await mc.get("alias:u8"), Buffer.from("original array"));
      assert.deepEqual(await mc.get("alias:many"), Buffer.from("original bytes"));
    });

    it("a value over maxValueSize is a ValueTooLargeError; the connection is still fine", async () => {
      const setsBefore = await serverStat("cmd_set");
      await assert.rejects(mc.set("too-big", Buffer.alloc(1024 * 1024)), (err: Error) => {
        assert.ok(err instanceof ValueTooLargeError);
        assert.match(err.message, /value is 1048576 bytes.*raise maxValueSize.*item size \(-I\)/);
        return true;
      });
      await assert.rejects(mc.set("too-big", "x".repeat(2 * 1024 * 1024)), ValueTooLargeError);
      assert.equal(await serverStat("cmd_set"), setsBefore, "nothing was sent");
      await mc.set("after-big", "ok");
      assert.equal(await mc.get("after-big"), "ok");
    });

    it("a value JSON would change (Map, Set, class instance, typed array) is a SerializationError; nothing is sent", async () => {
      class Point {
        constructor(readonly x: number) {}
      }
      class Stamped {
        toJSON() {
          return "stamped";
        }
      }
      const setsBefore = await serverStat("cmd_set");
      for (const [value, what] of [
        [new Map([["a", 1]]), /a Map/],
        [new Set([1]), /a Set/],
        [new Point(1), /an instance of Point/],
        [{ nested: [{ deep: new Map() }] }, /a Map/],
        [{ bytes: new Uint16Array(2) }, /an instance of Uint16Array/],
      ] as const) {
        await assert.rejects(mc.set("unfaithful", value), (err: Error) => {
          assert.ok(err instanceof SerializationError, err.name);
          assert.match(err.message, what);
          assert.match(err.message, /Convert it first/);
          return true;
        });
      }
      assert.equal(await serverStat("cmd_set"), setsBefore, "nothing was sent");
      // What says how it is stored, or JSON keeps as it is, is stored.
      const when = new Date(0);
      await mc.set("faithful", {
        when,
        stamped: new Stamped(),
        bare: Object.create(null),
        list: [1, "a", null],
      });
      assert.deepEqual(await mc.get("faithful"), {
        when: when.toJSON(),
        stamped: "stamped",
        bare: {},
        list: [1, "a", null],
      });
      const cyclic: Record<string, unknown> = {};
      for (let i = 0; i < 20; i++) cyclic[`k${i}`] = cyclic; // a walk of every path would never end
      await assert.rejects(mc.set("cyclic", cyclic), SerializationError);
      // Back-links between many objects: a walk of every path would take hours; the first cycle ends it.
      const linked = Array.from({ length: 14 }, () => ({}) as Record<string, unknown>);
      for (const a of linked) for (const [i, b] of linked.entries()) a[`to${i}`] = b;
      await assert.rejects(mc.set("linked", { root: linked[0] }), /circular/i);
      // A plain object of another realm, boxed primitives and JSON's own output are faithful.
      const foreign = runInNewContext("({ a: 1, list: [{ b: 2 }] })") as object;
      const boxed = { n: new Number(1), s: new String("s") };
      for (const [key, value] of [
        ["foreign", foreign],
        ["boxed", boxed],
      ] as const) {
        assert.equal(await mc.set(key, value), true, key);
        assert.deepEqual(await mc.get(key), JSON.parse(JSON.stringify(value)), key);
      }
    });

    it("a value the server refuses is a ServerError; the connection is still fine", async () => {
      const loose = new Client({
        protocol: current.protocol,
        servers: [server.label],
        maxValueSize: 4 * 1024 * 1024,
      });
      try {
        await loose.set("srv-ok", "before");
        await assert.rejects(loose.set("srv-big", Buffer.alloc(2 * 1024 * 1024)), ServerError);
        assert.equal(await loose.get("srv-ok"), "before", "same connection, aligned");
        assert.equal(loose.health().servers[0]?.inFlight, 0);
      } finally {
        await loose.close();
      }
    });
  });

  describe("pipelining", () => {
    it("2,000 concurrent gets each get their own value", async () => {
      const N = 2000;
      await mc.setMany(
        Array.from({ length: N }, (_, i) => [`p:${i}`, `value-${i}-${"x".repeat(i % 50)}`] as const),
      );
      const got = await Promise.all(Array.from({ length: N }, (_, i) => mc.get(`p:${i}`)));
      for (const [i, v] of got.entries()) assert.equal(v, `value-${i}-${"x".repeat(i % 50)}`);
    });

    it("interleaved concurrent sets, gets, deletes and batches stay paired", async () => {
      const ops: Promise<void>[] = [];
      for (let i = 0; i < 500; i++) {
        const k = `mix:${i}`;
        ops.push(
          (async () => {
            assert.equal(await mc.set(k, { i }), true);
            assert.deepEqual(await mc.get(k), { i });
            const m = await mc.getMany([k, `mix:none:${i}`]);
            assert.deepEqual([...m.entries()], [[k, { i }]]);
            assert.equal(await mc.delete(k), true);
            assert.equal(await mc.get(k), undefined);
          })(),
        );
      }
      await Promise.all(ops);
    });

    it("maxInFlight bounds what is on the wire; the rest waits in the queue", async () => {
      const small = new Client({
        protocol: current.protocol,
        servers: [server.label],
        maxInFlight: 8,
        timeout: 5000,
      });
      try {
        await small.ping();
        const all = Array.from({ length: 100 }, (_, i) => small.set(`mif:${i}`, i));
        const h = small.health().servers[0]!;
        assert.equal(h.queued + h.inFlight, 100);
        await new Promise((r) => process.nextTick(r));
        const h2 = small.health().servers[0]!;
        assert.ok(h2.inFlight <= 8, `inFlight ${h2.inFlight}`);
        assert.deepEqual(await Promise.all(all), Array(100).fill(true));
      } finally {
        await small.close();
      }
    });
  });
});
