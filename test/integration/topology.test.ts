/**
 * Live topology against real memcached: the server list changed at run time (setServers,
 * addServer, removeServer) under load, consistency across a key that moves away and back, bad
 * input, and Unix domain sockets.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Client, type ClientOptions, HashRing, InvalidArgumentError } from "../../src/index.ts";
import { type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";
import { movedKeys, suiteServers } from "../support/suite-servers.ts";

let servers: MemcachedServer[] = [];
const clients: Client[] = [];

function client(o: Partial<ClientOptions>): Client {
  const c = new Client({ protocol: current.protocol, timeout: 1000, ...o });
  clients.push(c);
  return c;
}

/** Keys whose owner on `to` differs from their owner on `from` (labels). */
/** Runs `workers` loops of set-then-get on their own keys until `stop()`; counts calls and failures. */
function load(c: Client, workers: number, keys: number) {
  let running = true;
  const stats = { calls: 0, failed: 0, errors: [] as unknown[] };
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; running && i < 1_000_000; i++) {
      const key = `load:${w}:${i % keys}`;
      try {
        await c.set(key, `${w}:${i}`);
        const v = await c.get(key);
        stats.calls += 2;
        if (v !== undefined && v !== `${w}:${i}`) throw new Error(`stale read of ${key}: ${String(v)}`);
      } catch (err) {
        stats.failed++;
        if (stats.errors.length < 5) stats.errors.push(err);
      }
    }
  });
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

forEachProtocol(() => {
  describe("server list changes", () => {
    const mine = suiteServers(4);
    before(() => {
      servers = mine;
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it("adds a fourth server under load: no call fails, and only the keys ketama moves change owner", async (t) => {
      const three = servers.slice(0, 3).map((s) => s.label);
      const four = servers.map((s) => s.label);
      const c = client({ servers: three });
      await c.flush();
      const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
      await c.setMany(keys.map((k) => [k, k]));
      const events: unknown[] = [];
      c.on("topologyChange", (e) => events.push(e));
      const running = load(c, 16, 200);
      await sleep(200);
      const change = await c.setServers(four);
      await sleep(200);
      const stats = await running.stop();
      assert.equal(stats.failed, 0, `failed calls: ${stats.errors.map(String).join("; ")}`);
      assert.ok(stats.calls > 100, `the load ran (${stats.calls} calls)`);
      assert.deepEqual(change, { added: [servers[3]!.label], removed: [] });
      assert.deepEqual(events, [{ added: [servers[3]!.label], removed: [], reason: "setServers" }]);
      // The keys that stayed are all still hits; the moved ones are misses on the new, empty owner.
      const moved = new Set(movedKeys(three, four, keys));
      const share = moved.size / keys.length;
      t.diagnostic(
        `${current.protocol}: ${stats.calls} calls during the add, ${stats.failed} failed; ${(share * 100).toFixed(1)} % of keys moved`,
      );
      assert.ok(share > 0.15 && share < 0.35, `about 1/4 of the keys moved: ${share}`);
      const found = await c.getMany(keys);
      for (const k of keys) assert.equal(found.has(k), !moved.has(k), k);
      assert.deepEqual(
        c.health().servers.map((s) => s.label),
        four,
      );
    });

    it("removes a server under load: no call fails, and its connections close", async (t) => {
      const four = servers.map((s) => s.label);
      const c = client({ servers: four });
      const running = load(c, 16, 200);
      await sleep(200);
      const watcher = direct(servers[1]!.label);
      const connections = async () => Number(Object.values(await watcher.stats())[0]!.curr_connections);
      const open = await connections();
      const change = await c.removeServer(servers[1]!.label);
      await sleep(200);
      const stats = await running.stop();
      assert.equal(stats.failed, 0, `failed calls: ${stats.errors.map(String).join("; ")}`);
      assert.deepEqual(change, { added: [], removed: [servers[1]!.label] });
      t.diagnostic(`${current.protocol}: ${stats.calls} calls during the removal, ${stats.failed} failed`);
      assert.ok(!c.health().servers.some((s) => s.label === servers[1]!.label));
      // Nothing goes to the removed server any more.
      const before = await watcher.stats();
      for (let i = 0; i < 200; i++) await c.set(`after-remove:${i}`, i);
      const after = await watcher.stats();
      const sets = (s: Record<string, Record<string, string>>) => Number(Object.values(s)[0]!.cmd_set);
      assert.equal(sets(after), sets(before));
      // The removed server's connections from `c` closed (`watcher` keeps its own one open).
      await waitFor(async () => (await connections()) < open, 2000);
    });

    it("a key that moves away and back never reads older than its last write", async () => {
      const three = servers.slice(0, 3).map((s) => s.label);
      const four = servers.map((s) => s.label);
      const c = client({ servers: three });
      await c.flush();
      await direct(servers[3]!.label).flush();
      // Keys that the fourth server takes from the others.
      const keys = movedKeys(
        three,
        four,
        Array.from({ length: 400 }, (_, i) => `mv${i}`),
      ).slice(0, 50);
      for (const k of keys) await c.set(k, "v1");
      await c.addServer(servers[3]!.label);
      for (const k of keys) await c.set(k, "v2"); // on the fourth server now; the old owner keeps v1
      await c.removeServer(servers[3]!.label);
      for (const k of keys) assert.notEqual(await c.get(k), "v1", `${k} went back to its old owner's value`);
      // And back again: the fourth server left the list, so it is flushed before it serves.
      for (const k of keys) await c.set(k, "v3");
      const flushed: unknown[] = [];
      c.on("serverFlushed", (e) => flushed.push(e));
      await c.addServer(servers[3]!.label);
      await waitFor(() => c.health().servers.every((s) => s.state === "up"), 5000);
      for (const k of keys) {
        const v = await c.get(k);
        assert.ok(v === undefined || v === "v3", `${k}: ${String(v)}`);
      }
      assert.equal(flushed.length, 1);
    });

    it("a key's earlier owner does not serve its old copy when the new owner goes down", async () => {
      const two = servers.slice(0, 2).map((s) => s.label);
      const three = servers.slice(0, 3).map((s) => s.label);
      const c = client({ servers: two, failover: { failureThreshold: 1, retryDelay: 60_000 } });
      await c.flush();
      await direct(servers[2]!.label).flush();
      const keys = movedKeys(
        two,
        three,
        Array.from({ length: 400 }, (_, i) => `ej${i}`),
      ).slice(0, 20);
      for (const k of keys) await c.set(k, "v0");
      await c.addServer(servers[2]!.label);
      for (const k of keys) await c.set(k, "v1"); // on the third server; the earlier owners keep v0
      const third = servers[2]!;
      await third.kill();
      try {
        await waitFor(() => {
          void c.get(keys[0]!).catch(() => undefined);
          return c.health().servers.some((s) => s.label === third.label && s.state !== "up");
        }, 5000);
        for (const k of keys) assert.notEqual(await c.get(k), "v0", `${k}: an earlier owner's copy`);
        assert.deepEqual(
          [...(await c.getMany(keys)).values()].filter((v) => v === "v0"),
          [],
        );
        if (current.protocol === "meta") {
          for (const k of keys) assert.notEqual(await c.fetch(k, () => "loaded"), "v0", `${k}: fetch`);
        }
      } finally {
        await third.start(third.port);
      }
    });

    it("concurrent addServer calls each start from the list the one before left; weights can change", async () => {
      const c = client({ servers: [servers[0]!.label] });
      await Promise.all([c.addServer(servers[1]!.label), c.addServer(servers[2]!.label)]);
      assert.deepEqual(
        c.health().servers.map((s) => s.label),
        servers.slice(0, 3).map((s) => s.label),
      );
      const heavier = [
        { host: servers[0]!.host, port: servers[0]!.port, weight: 3 },
        servers[1]!.label,
        servers[2]!.label,
      ];
      const change = await c.setServers(heavier);
      assert.deepEqual(change, { added: [], removed: [], reweighted: [servers[0]!.label] });
      const ring = new HashRing(heavier);
      const keys = Array.from({ length: 300 }, (_, i) => `w${i}`);
      await c.setMany(keys.map((k) => [k, k]));
      const onFirst = await direct(servers[0]!.label).getMany(keys);
      for (const k of keys) if (ring.serverFor(k) === servers[0]!.label) assert.ok(onFirst.has(k), k);
    });

    it("an invalid entry is an InvalidArgumentError and the old list stays", async () => {
      const c = client({ servers: servers.slice(0, 2).map((s) => s.label) });
      await assert.rejects(c.setServers([servers[0]!.label, "host:99999"]), InvalidArgumentError);
      await assert.rejects(c.setServers([]), InvalidArgumentError);
      await assert.rejects(c.addServer("dns+bad name:1"), InvalidArgumentError);
      await assert.rejects(c.removeServer("127.0.0.1:1"), /is not on the list/);
      assert.equal(c.health().servers.length, 2);
      assert.equal(await c.set("still", 1), true);
      assert.equal(await c.get("still"), 1);
    });

    it("changes run one at a time, and the last one wins", async () => {
      const c = client({ servers: [servers[0]!.label] });
      const all = servers.map((s) => s.label);
      const changes = await Promise.all([
        c.setServers(all.slice(0, 2)),
        c.setServers(all.slice(0, 3)),
        c.setServers(all),
      ]);
      // Each started from the list the one before it left: one server added each time, in order.
      assert.deepEqual(
        changes.map((ch) => ch.added),
        [[all[1]], [all[2]], [all[3]]],
      );
      assert.deepEqual(
        c.health().servers.map((s) => s.label),
        all,
      );
    });
  });

  describe("Unix domain sockets", () => {
    let unix: MemcachedServer;
    before(async () => {
      unix = await startMemcached({ unixSocket: true });
    });
    after(async () => {
      await unix.kill();
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it('serves "/path" and "unix:///path" entries, labelled by the path', async () => {
      for (const entry of [unix.path!, `unix://${unix.path!}`, { path: unix.path! }]) {
        const c = client({ servers: [entry] });
        assert.equal(await c.set("u", { entry: String(entry) }), true);
        assert.deepEqual(await c.get("u"), { entry: String(entry) });
        assert.deepEqual(
          c.health().servers.map((s) => s.label),
          [unix.path],
        );
      }
    });

    it("takes its share of keys on a ring with TCP servers (placed by the path, as libmemcached)", async () => {
      const tcp = await startMemcached();
      try {
        const c = client({ servers: [tcp.label, unix.path!] });
        const ring = new HashRing([tcp.label, unix.path!]);
        const keys = Array.from({ length: 200 }, (_, i) => `mix${i}`);
        await c.setMany(keys.map((k) => [k, k]));
        const onUnix = await client({ servers: [unix.path!] }).getMany(keys);
        for (const k of keys) assert.equal(onUnix.has(k), ring.serverFor(k) === unix.path, k);
        assert.ok(onUnix.size > 40 && onUnix.size < 160, `${onUnix.size} of 200 on the socket`);
      } finally {
        await tcp.kill();
      }
    });

    it("a missing socket is a connection error, not a crash", async () => {
      const c = client({ servers: ["/nonexistent/memcached.sock"], timeout: 300 });
      await assert.rejects(
        c.get("x"),
        (err: Error) => err.name === "ConnectionError" || err.name === "ServerUnavailableError",
      );
    });

    it("a relative path is an InvalidArgumentError", () => {
      assert.throws(() => new Client({ servers: ["unix://relative.sock"] }), InvalidArgumentError);
    });
  });
});

function direct(label: string): Client {
  return client({ servers: [label] });
}
