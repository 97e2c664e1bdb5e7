import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Client, type ClientOptions, HashRing } from "../../src/index.ts";
import { type MemcachedServer, restoreAll, sleep, startMemcached } from "../support/memcached.ts";
import { FaultProxy } from "../support/proxy.ts";
import { current, forEachProtocol } from "../support/protocols.ts";
import { ReadJudge } from "../support/read-judge.ts";

const DEADLINE = 200;

let servers: MemcachedServer[] = [];
let labels: string[] = [];
const clients: Client[] = [];

function client(o: Partial<ClientOptions> = {}): Client {
  const c = new Client({ protocol: current.protocol, servers: labels, replicas: 2, timeout: DEADLINE, ...o });
  clients.push(c);
  return c;
}

before(async () => {
  servers = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  labels = servers.map((s) => s.label);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await restoreAll(servers); // a test that failed half-way leaves none killed or paused for the next
});
after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
});

/**
 * Reads `keys` from 20 concurrent workers until `end()`; every value must be its key's, judged by a
 * {@link ReadJudge} (servers marked down by a stall stay down for the test: its retryDelay is long).
 */
function readLoad(mc: Client, keys: string[]) {
  const judge = new ReadJudge({
    deadline: DEADLINE,
    share: DEADLINE / 2,
    recovery: Number.POSITIVE_INFINITY,
  });
  let stop = false;
  const done = Promise.all(
    Array.from({ length: 20 }, async (_, w) => {
      for (let i = w; !stop; i += 20) {
        const k = keys[i % keys.length]!;
        const t = performance.now();
        try {
          if (w % 2 === 0) {
            const v = await mc.get(k);
            if (v === k) judge.serve(`get ${k}`, t);
            else if (v === undefined) judge.unserved(`get ${k}`, t, v);
            else judge.wrong(`get ${k}`, t, v);
          } else {
            // A batch over the three servers: the keys of a failed one are asked of their next replica.
            const batch = Array.from({ length: 6 }, (_, j) => keys[(i + j * 31) % keys.length]!);
            const got = await mc.getMany(batch);
            const what = `getMany ${batch.join(" ")}`;
            if ([...got].some(([key, v]) => v !== key)) judge.wrong(what, t, [...got]);
            else if (batch.every((key) => got.has(key))) judge.serve(what, t);
            else judge.unserved(what, t, undefined);
          }
        } catch (e) {
          judge.unserved(`read of ${k}`, t, e);
        }
      }
    }),
  );
  return {
    async end() {
      stop = true;
      await done;
      judge.stop();
      return judge;
    },
  };
}

forEachProtocol(() => {
  describe("replicas: 2 on 3 servers", () => {
    it("a write lands on both of the key's servers on the ring, and only there", async () => {
      const mc = client();
      const ring = new HashRing(labels);
      for (let i = 0; i < 30; i++) {
        const k = `rep:${i}`;
        assert.equal(await mc.set(k, k), true);
        const owners = ring.serversFor(k, 2);
        for (const l of labels) {
          const d = new Client({ servers: [l] });
          clients.push(d);
          assert.equal(await d.get(k), owners.includes(l) ? k : undefined, `${k} on ${l}`);
        }
      }
      assert.deepEqual(await mc.deleteMany(["rep:0", "rep:none"]), [true, false]);
    });

    it("incr, add, replace, append and cas run on the owner alone; the other replica gets the outcome (#16 case 4)", async () => {
      const mc = client({ timeout: 1000 });
      const ring = new HashRing(labels);
      const direct = (l: string) => {
        const d = new Client({ protocol: current.protocol, servers: [l] });
        clients.push(d);
        return d;
      };
      // The owner's item is read back (value, flags, TTL) and copied; text and binary cannot tell its
      // TTL, so there the other replica's copy is deleted instead.
      const readBack = current.protocol === "meta";
      // A counter at 100 on both replicas; then the second replica comes back empty.
      const k = `rep:counter:${current.protocol}`;
      const [owner, second] = ring.serversFor(k, 2).map(direct) as [Client, Client];
      await mc.set(k, "100");
      await second.delete(k);
      assert.equal(await mc.incr(k, 1n, { initial: 0n }), 101n, "the owner's counter, not a new one");
      assert.equal(await owner.get(k), "101");
      assert.equal(
        await second.get(k),
        readBack ? "101" : undefined,
        "the replica holds the owner's count or none",
      );
      if (readBack) assert.equal(await second.incr(k, 1n), 102n, "stored as memcached stores a counter");
      assert.equal(await mc.get(k), "101");
      // The key exists only on the second replica: add is the owner's decision, and its value is copied.
      const k2 = `rep:add:${current.protocol}`;
      const [owner2, second2] = ring.serversFor(k2, 2).map(direct) as [Client, Client];
      await second2.set(k2, "old");
      assert.equal(await mc.add(k2, "new", { ttl: 300 }), true);
      assert.equal(await owner2.get(k2), "new");
      assert.equal(await second2.get(k2), "new");
      assert.equal(await mc.replace(k2, "newer"), true);
      assert.equal(await second2.get(k2), "newer");
      assert.equal(await mc.append(k2, "+"), true);
      assert.equal(await owner2.get(k2), "newer+");
      assert.equal(await second2.get(k2), readBack ? "newer+" : undefined);
      // A cas the owner accepts is copied as a plain set.
      const g = await mc.gets<string>(k2);
      assert.equal(await mc.cas(k2, "swapped", g!.cas), true);
      assert.equal(await second2.get(k2), "swapped");
      // An add the owner refuses leaves no copy the owner may not have.
      assert.equal(await mc.add(k2, "refused"), false);
      assert.equal(await second2.get(k2), undefined);
      assert.equal(await owner2.get(k2), "swapped");
    });

    it("an acknowledged add, replace, incr or append survives its owner's death: the other replica serves it", async () => {
      const mc = client({ timeout: 1000 });
      const ring = new HashRing(labels);
      const victim = servers[0]!;
      const ownedByVictim = (prefix: string) => {
        for (let i = 0; i < 1000; i++)
          if (ring.serverFor(`${prefix}:${i}`) === victim.label) return `${prefix}:${i}`;
        throw new Error(`no key of ${prefix} is owned by ${victim.label}`);
      };
      const p = `survive:${current.protocol}`;
      const [added, replaced, counted, appended] = ["add", "replace", "incr", "append"].map((op) =>
        ownedByVictim(`${p}:${op}`),
      ) as [string, string, string, string];
      assert.equal(await mc.add(added, "added"), true);
      assert.equal(await mc.set(replaced, "before"), true);
      assert.equal(await mc.replace(replaced, "replaced"), true);
      assert.equal(await mc.incr(counted, 5n, { initial: 41n }), 41n);
      assert.equal(await mc.incr(counted, 1n), 42n);
      assert.equal(await mc.set(appended, "a"), true);
      assert.equal(await mc.append(appended, "b"), true);
      await victim.kill();
      try {
        assert.equal(await mc.get(added), "added");
        assert.equal(await mc.get(replaced), "replaced");
        if (current.protocol === "meta") {
          assert.equal(await mc.get(counted), "42");
          assert.equal(await mc.get(appended), "ab");
        } else {
          // The copy was deleted (no TTL to copy it with): a miss, never an older value.
          assert.equal(await mc.get(counted), undefined);
          assert.equal(await mc.get(appended), undefined);
        }
      } finally {
        await victim.start(Number(victim.label.split(":")[1]));
      }
    });

    it("a write retried after a reset on a replica goes to that replica again, not to the owner (#16 case 3)", async () => {
      const proxy = await new FaultProxy(servers[1]!.host, servers[1]!.port).start();
      try {
        const ring = [servers[0]!.label, proxy.label, servers[2]!.label];
        const hash = new HashRing(ring);
        const k = Array.from({ length: 200 }, (_, i) => `rep:retry:${current.protocol}:${i}`).find(
          (key) => hash.serversFor(key, 2)[1] === proxy.label,
        )!;
        const mc = new Client({ protocol: current.protocol, servers: ring, replicas: 2, timeout: 1000 });
        clients.push(mc);
        const second = new Client({ protocol: current.protocol, servers: [servers[1]!.label] });
        clients.push(second);
        assert.equal(await mc.set(k, "v1"), true);
        assert.equal(await second.get(k), "v1");
        proxy.mode = "reset-once"; // the second replica's connection is reset by this set: v2 never reaches it
        assert.equal(await mc.set(k, "v2"), true);
        assert.equal(mc.health().retries, 1, "sent again once");
        assert.equal(await second.get(k), "v2", "the retry went to the replica whose connection was reset");
      } finally {
        await proxy.stop();
      }
    });

    it("kill -9 one server under load: every read is still served, within the deadline", async (t) => {
      const mc = client({ failover: { failureThreshold: 2, retryDelay: 60_000 } });
      const keys = Array.from({ length: 200 }, (_, i) => `kill2:${i}`);
      assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
      const load = readLoad(mc, keys);
      await sleep(200);
      await servers[1]!.kill();
      await sleep(800);
      const s = await load.end();
      t.diagnostic(`one of three killed: ${s.summary()}`);
      assert.deepEqual(s.defects, [], "every read served by a replica, within its deadline");
      assert.ok(s.served > 200);
    });

    it("SIGSTOP one server under load: every read is still served, within the deadline", async (t) => {
      const mc = client({ failover: { failureThreshold: 2, retryDelay: 60_000 } });
      const keys = Array.from({ length: 200 }, (_, i) => `stop2:${i}`);
      assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
      const load = readLoad(mc, keys);
      await sleep(200);
      await servers[2]!.pause();
      await sleep(800);
      const s = await load.end();
      servers[2]!.resume();
      t.diagnostic(`one of three SIGSTOPped: ${s.summary()}`);
      assert.deepEqual(s.defects, [], "every read served by a replica, within its deadline");
    });
  });
});

forEachProtocol(() => {
  describe("replicas: 2, an owner restarted empty", () => {
    it("incr continues from the other replica's count (with and without initial)", async () => {
      const mc = client({ timeout: 1000 });
      const ring = new HashRing(labels);
      const victim = servers[1]!;
      const owned: string[] = [];
      for (let i = 0; i < 1000 && owned.length < 2; i++) {
        if (ring.serverFor(`restarted:${i}`) === victim.label) owned.push(`restarted:${i}`);
      }
      const [withInitial, without] = owned as [string, string];
      assert.equal(await mc.set(withInitial, "100"), true);
      assert.equal(await mc.incr(withInitial, 1n, { initial: 0n }), 101n);
      assert.equal(await mc.set(without, "7"), true);
      await victim.restart();
      assert.equal(await mc.incr(withInitial, 1n, { initial: 0n }), 102n, "not a new counter at 0");
      assert.equal(await mc.incr(without, 1n), 8n, "not a miss");
      const direct = new Client({ servers: [victim.label] });
      clients.push(direct);
      assert.equal(await direct.get(withInitial), "102", "the owner holds the count again");
      // A counter neither replica has is created as asked.
      const fresh = `restarted:fresh:${Date.now()}`;
      assert.equal(await mc.incr(fresh, 1n, { initial: 5n }), 5n);
      assert.equal(await mc.incr(`${fresh}:none`, 1n), undefined);
    });
  });
}, ["meta"]);

forEachProtocol(() => {
  describe("replicas: 2, a replica restarted empty", () => {
    /** Keys whose owner is `victim` (so a get goes to it first), set through `mc`. */
    async function ownedKeys(mc: Client, victim: MemcachedServer, prefix: string): Promise<string[]> {
      const ring = new HashRing(labels);
      const keys = Array.from({ length: 600 }, (_, i) => `${prefix}:${current.protocol}:${i}`).filter(
        (k) => ring.serverFor(k) === victim.label,
      );
      assert.ok(keys.length >= 20, "enough keys owned by the victim");
      assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
      return keys;
    }

    it("get and getMany of its keys hit on the other replica instead of missing (no copy back without warmUp)", async () => {
      const mc = client({ timeout: 1000 });
      const victim = servers[0]!;
      const keys = await ownedKeys(mc, victim, "rejoin:read");
      try {
        await victim.restart(); // a quick restart: its connections are closed, it is never marked down
        const many = await mc.getMany(keys);
        assert.equal(many.size, keys.length, "getMany: every key, from the other replica");
        for (const [k, v] of many) assert.equal(v, k);
        for (const k of keys) assert.equal(await mc.get(k), k, `${k}: served by the other replica`);
        assert.ok(mc.health().topology.warmUpHits >= keys.length);
        const direct = new Client({ protocol: current.protocol, servers: [victim.label] });
        clients.push(direct);
        assert.equal(await direct.get(keys[0]!), undefined, "nothing copied back without warmUp");
      } finally {
        if (victim.pid === undefined) await victim.start(Number(victim.label.split(":")[1]));
      }
    });

    it("with warmUp, after being down: hits are copied back, and a key deleted since is never revived", async () => {
      const mc = client({ timeout: 1000, warmUp: { window: 30_000 }, failover: { retryDelay: 50 } });
      const victim = servers[0]!;
      const keys = await ownedKeys(mc, victim, "rejoin:copy");
      const [deleted, ...rest] = keys as [string, ...string[]];
      try {
        await victim.kill();
        // Reads fail over while it is down; a refused connect marks it down at once.
        for (const k of rest.slice(0, 3)) assert.equal(await mc.get(k), k);
        await victim.start(Number(victim.label.split(":")[1]));
        for (
          let i = 0;
          i < 100 && mc.health().servers.find((s) => s.label === victim.label)?.state !== "up";
          i++
        )
          await sleep(20);
        await mc.delete(deleted); // (false: the restarted owner did not hold it)
        assert.equal(await mc.get(deleted), undefined, "deleted");
        for (const k of rest) assert.equal(await mc.get(k), k, `${k}: served by the other replica`);
        // (The first reads are served before the other replica is known to hold what was sent to
        // it: those are not copied back, and a second read copies them.)
        for (const k of rest) assert.equal(await mc.get(k), k);
        const direct = new Client({ protocol: current.protocol, servers: [victim.label] });
        clients.push(direct);
        let copied = 0;
        for (let i = 0; i < 50 && copied < rest.length; i++) {
          copied = (await direct.getMany(rest)).size;
          if (copied < rest.length) await sleep(20);
        }
        assert.equal(
          copied,
          rest.length,
          `every key read was copied back to the restarted replica (${copied} of ${rest.length})`,
        );
        assert.equal(await direct.get(deleted), undefined, "the deleted key was not copied back");
      } finally {
        if (victim.pid === undefined) await victim.start(Number(victim.label.split(":")[1]));
      }
    });
  });
});
