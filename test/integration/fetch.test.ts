import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  Client,
  type ClientOptions,
  ConnectionError,
  TimeoutError,
  UnsupportedError,
} from "../../src/index.ts";
import { type MemcachedServer, sleep, startMemcached } from "../support/memcached.ts";
import { FaultProxy } from "../support/proxy.ts";
import { rawLine } from "../support/raw.ts";

let server: MemcachedServer;
const clients: Client[] = [];
let n = 0;
const key = (name: string) => `${name}:${process.pid}:${n++}`;

function client(o: Partial<ClientOptions> = {}): Client {
  const c = new Client({ servers: [server.label], timeout: 2000, ...o });
  clients.push(c);
  return c;
}

/** Several clients: they stand for several processes. */
function fleet(count: number): Client[] {
  return Array.from({ length: count }, () => client());
}

before(async () => {
  server = await startMemcached();
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.kill();
});

describe("fetch: thundering-herd protection on the server", () => {
  it("50 concurrent fetches of a cold key, from 5 clients, run the loader once", async () => {
    const k = key("cold");
    let calls = 0;
    const loader = async () => {
      calls++;
      await sleep(100);
      return { loaded: k };
    };
    const mcs = fleet(5);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => mcs[i % 5]!.fetch(k, loader, { ttl: 60, lockTtl: 5 })),
    );
    assert.equal(calls, 1, "exactly one loader run across all clients");
    for (const r of results) assert.deepEqual(r, { loaded: k });
    assert.deepEqual(await mcs[0]!.get(k), { loaded: k }, "written back");
  });

  it("after invalidate: one caller reloads, the others get the stale value without waiting", async () => {
    const k = key("inv");
    const [a, b, c] = fleet(3);
    await a!.fetch(k, () => "v1", { ttl: 60 });
    assert.equal(await a!.invalidate(k, { staleTtl: 30 }), true);
    let reloads = 0;
    const slow = async () => {
      reloads++;
      await sleep(300);
      return "v2";
    };
    const t0 = performance.now();
    const winner = a!.fetch(k, slow, { ttl: 60 });
    await sleep(20); // let the winner claim it first
    const others = await Promise.all([b!.fetch(k, slow), c!.fetch(k, slow), b!.fetch(k, slow)]);
    const othersTook = performance.now() - t0;
    assert.deepEqual(others, ["v1", "v1", "v1"], "stale value served");
    assert.ok(
      othersTook < 250,
      `the others did not wait for the 300 ms loader (${othersTook.toFixed(0)} ms)`,
    );
    assert.equal(await winner, "v2");
    assert.equal(reloads, 1);
    assert.equal(await b!.fetch(k, slow), "v2", "fresh value after the reload");
    assert.equal(reloads, 1);
    assert.equal(await a!.invalidate(key("never"), {}), false, "invalidate of a missing key");
  });

  it("plain reads never see fetch's stub nor an invalidated value: both are misses", async () => {
    const mc = client();
    const k = key("plain");
    assert.match(await rawLine(server.label, `mg ${k} v c N30`), /W/); // a loader's stub
    assert.equal(await mc.get(k), undefined);
    assert.equal(await mc.gets(k), undefined);
    assert.deepEqual(await mc.getMany([k]), new Map());
    const s = key("plain-stale");
    await mc.set(s, "old");
    await mc.invalidate(s);
    assert.equal(await mc.get(s), undefined, "invalidated: a miss for plain reads");
    assert.equal(await mc.fetch(s, () => "new"), "new", "fetch reloads it");
    assert.equal(await mc.get(s), "new");
  });

  it("a winner that never writes back releases the herd after lockTtl", async () => {
    const k = key("dead-winner");
    // A 'process' wins the miss and dies: it never writes back.
    assert.match(await rawLine(server.label, `mg ${k} v c N1`), /^VA 0 .*W/);
    // The lock is held: another caller is told someone else won. (When it expires depends on where
    // memcached's one-second clock stands, so the test waits for the outcome, not for a time.)
    assert.match(await rawLine(server.label, `mg ${k} v c N1`), /^VA 0 .*Z/);
    const mc = client({ timeout: 5000 });
    let loads = 0;
    const v = await mc.fetch(
      k,
      () => {
        loads++;
        return "recovered";
      },
      { ttl: 60, lockTtl: 1 },
    );
    assert.equal(v, "recovered");
    assert.equal(loads, 1, "the herd's one load, once the dead winner's lock expired");
    assert.equal(await mc.get(k), "recovered");
  });

  it("a write-back that goes on past the deadline stores the Buffer as the loader returned it", async () => {
    const k = key("late-write-back");
    const mc = client({ timeout: 200 });
    // The loader outlasts the call's deadline and the lock (N1): the write-back goes on without the
    // caller, its CAS finds the stub gone, and add() stores the value after the caller has it back.
    const value = await mc.fetch(
      k,
      async () => {
        await sleep(2_100);
        return Buffer.from("as loaded");
      },
      { ttl: 60, lockTtl: 1 },
    );
    value.fill(0x78); // the caller's to change once it has it
    let stored: unknown;
    for (let i = 0; i < 100 && stored === undefined; i++) {
      stored = await mc.get(k);
      if (stored === undefined) await sleep(20);
    }
    assert.deepEqual(stored, Buffer.from("as loaded"));
  });

  it("keeps its deadline while polling a slow server: each poll gets what is left (#16)", async () => {
    const k = key("slow-poll");
    assert.match(await rawLine(server.label, `mg ${k} v c N30`), /W/); // another caller loads, for long
    const proxy = await new FaultProxy(server.host, server.port).start();
    try {
      const mc = client({ servers: [proxy.label], timeout: 250 });
      await mc.ping(); // connected before the replies slow down
      proxy.mode = "delay";
      proxy.delayMs = 200;
      for (const onLockTimeout of ["throw", "load"] as const) {
        const t0 = performance.now();
        const got = await mc
          .fetch(k, () => "loaded here", { onLockTimeout })
          .then(
            (v) => v,
            (e: unknown) => e,
          );
        const took = performance.now() - t0;
        if (onLockTimeout === "throw") assert.ok(got instanceof TimeoutError, String(got));
        else assert.equal(got, "loaded here");
        // A poll sent with the call's full deadline would end about 150 ms past it.
        assert.ok(took < 250 + 100, `${onLockTimeout}: ${took.toFixed(0)} ms against a 250 ms deadline`);
      }
    } finally {
      await proxy.stop();
    }
  });

  it("at the deadline: onLockTimeout 'load' runs the loader here, 'throw' rejects", async () => {
    const k = key("lock-timeout");
    assert.match(await rawLine(server.label, `mg ${k} v c N30`), /W/);
    const mc = client();
    await assert.rejects(
      mc.fetch(k, () => "x", { timeout: 150, onLockTimeout: "throw" }),
      TimeoutError,
    );
    let ran = 0;
    const v = await mc.fetch(
      k,
      () => {
        ran++;
        return "loaded-here";
      },
      { timeout: 150, ttl: 60 },
    );
    assert.equal(v, "loaded-here");
    assert.equal(ran, 1);
    assert.equal(await mc.get(k), "loaded-here", "written back over the abandoned stub");
  });

  it("a loader error reaches the caller that ran it; with staleTtl the next caller may retry at once", async () => {
    const k = key("fail");
    const [a, b] = fleet(2);
    await a!.set(k, "old");
    await a!.invalidate(k);
    await assert.rejects(
      a!.fetch(
        k,
        () => {
          throw new Error("db down");
        },
        { staleTtl: 30 },
      ),
      /db down/,
    );
    let ran = 0;
    const v = await b!.fetch(k, () => {
      ran++;
      return "new";
    });
    assert.equal(ran, 1, "b won the retry at once: the failed claim was released");
    assert.equal(v, "new");
  });

  it("recacheWithin: a value near expiry is reloaded by one caller while the rest keep getting it", async () => {
    const k = key("recache");
    const mcs = fleet(4);
    await mcs[0]!.set(k, "current", { ttl: 10 });
    let reloads = 0;
    const loader = async () => {
      reloads++;
      await sleep(200);
      return "refreshed";
    };
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => mcs[i % 4]!.fetch(k, loader, { ttl: 60, recacheWithin: 30 })),
    );
    assert.equal(reloads, 1);
    assert.equal(results.filter((r) => r === "refreshed").length, 1, "the winner returns the fresh value");
    assert.equal(results.filter((r) => r === "current").length, 19, "everyone else the current one");
    assert.ok(performance.now() - t0 < 2000);
    assert.equal(await mcs[1]!.get(k), "refreshed");
  });
});

describe("local cache", () => {
  it("serves hits from process memory; writes through the client update or drop it", async () => {
    const mc = client({ localCache: { max: 100, ttl: 60_000 } });
    const other = client();
    const k = key("l1");
    await mc.set(k, { v: 1 });
    const getsBefore = Number((await other.stats())[server.label]?.cmd_get);
    for (let i = 0; i < 10; i++) assert.deepEqual(await mc.get(k), { v: 1 });
    assert.equal(
      Number((await other.stats())[server.label]?.cmd_get),
      getsBefore,
      "no get reached the server",
    );
    assert.ok((mc.health().localCache?.hits ?? 0) >= 10);
    await mc.set(k, { v: 2 });
    assert.deepEqual(await mc.get(k), { v: 2 }, "set updates the local cache");
    await mc.delete(k);
    assert.equal(await mc.get(k), undefined, "delete drops it");
    const m = key("l1m");
    await mc.setMany([[m, "a"]]);
    assert.deepEqual(await mc.getMany([m, k]), new Map([[m, "a"]]));
    assert.deepEqual(await mc.getMany([m]), new Map([[m, "a"]]), "second time from the local cache");
  });

  it("bounded: the least recently used entry goes first", async () => {
    const mc = client({ localCache: { max: 3, ttl: 60_000 } });
    for (const i of [1, 2, 3, 4]) await mc.set(`lru:${n}:${i}`, i);
    assert.equal(mc.health().localCache?.size, 3);
  });

  it("staleIfError: a SIGSTOPped or killed server is answered from the local cache, with an event", async () => {
    const victim = await startMemcached();
    const mc = new Client({
      servers: [victim.label],
      timeout: 150,
      failover: { retryDelay: 10_000 },
      localCache: { max: 100, ttl: 20, staleIfError: 60_000 },
    });
    clients.push(mc);
    const events: unknown[] = [];
    mc.on("staleServed", (e) => events.push(e));
    try {
      await mc.set("s", "last-known");
      await mc.set("f", "fetched");
      assert.equal(await mc.get("s"), "last-known");
      await sleep(50); // past ttl: the next get goes to the server
      await victim.pause();
      assert.equal(await mc.get("s"), "last-known", "hung server: stale value");
      assert.equal(await mc.fetch("f", () => "never"), "fetched", "fetch too");
      victim.resume();
      await victim.kill();
      await sleep(20);
      assert.equal(await mc.get("s"), "last-known", "dead server: stale value");
      assert.ok(events.length >= 3);
      await assert.rejects(mc.get("never-cached"), ConnectionError, "nothing cached: the error stands");
      assert.ok((mc.health().localCache?.staleServed ?? 0) >= 3);
    } finally {
      victim.resume();
      await victim.kill();
    }
  });
});

describe("fetch and invalidate with the binary protocol", () => {
  it("reject with UnsupportedError before anything is sent; the same client serves everything else", async () => {
    const mc = client({ protocol: "binary" });
    const before = Number((await mc.stats())[server.label]?.cmd_get);
    let loaded = 0;
    await assert.rejects(
      mc.fetch(key("f"), () => ++loaded),
      (e: unknown) => e instanceof UnsupportedError && /meta protocol/.test(e.message),
    );
    await assert.rejects(mc.invalidate(key("i")), UnsupportedError);
    assert.equal(loaded, 0, "the loader never ran");
    assert.equal(Number((await mc.stats())[server.label]?.cmd_get), before, "no read reached the server");
    const k = key("ok");
    assert.equal(await mc.set(k, "v"), true);
    assert.equal(await mc.get(k), "v");
  });
});
