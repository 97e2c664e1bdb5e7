import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import {
  Client,
  type ClientOptions,
  ConnectionError,
  HashRing,
  NoServersError,
  ServerUnavailableError,
  TimeoutError,
} from "../../src/index.ts";
import { freePort, type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";
import { FaultProxy } from "../support/proxy.ts";
import { remainingTtl } from "../support/raw.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

/** Slack for deadlines: the ticker's resolution plus a loaded CI machine. */
const MARGIN = 400;

let servers: MemcachedServer[] = [];
let labels: string[] = [];
const clients: Client[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

function client(o: Partial<ClientOptions> = {}): Client {
  const c = new Client({ protocol: current.protocol, servers: labels, timeout: 500, ...o });
  clients.push(c);
  return c;
}

/** A client for one server only: to look at what is really stored where. */
function direct(label: string): Client {
  const c = new Client({ protocol: current.protocol, servers: [label], timeout: 1000 });
  clients.push(c);
  return c;
}

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  servers = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  labels = servers.map((s) => s.label);
});
afterEach(async () => {
  for (const s of servers) s.resume();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, [], "no unhandled rejection in this file");
});

forEachProtocol(() => {
  describe("cluster: routing", () => {
    it("each key is stored on the server libmemcached's ketama picks", async () => {
      const mc = client();
      const ring = new HashRing(labels);
      const keys = Array.from({ length: 300 }, (_, i) => `route:${i}`);
      for (const k of keys) assert.equal(await mc.set(k, k), true);
      const byServer = new Map(labels.map((l) => [l, direct(l)]));
      const counts = new Map<string, number>();
      for (const k of keys) {
        const owner = ring.serverFor(k);
        counts.set(owner, (counts.get(owner) ?? 0) + 1);
        for (const [label, d] of byServer) {
          assert.equal(await d.get(k), label === owner ? k : undefined, `${k} on ${label}`);
        }
      }
      for (const l of labels) assert.ok((counts.get(l) ?? 0) > 30, `keys spread over ${l}`);
    });

    it("getMany, setMany and deleteMany split per server and merge back in order", async () => {
      const mc = client();
      const keys = Array.from({ length: 200 }, (_, i) => `multi:${i}`);
      assert.deepEqual(
        await mc.setMany(keys.map((k, i) => [k, i] as const)),
        keys.map(() => true),
      );
      const got = await mc.getMany([...keys, "multi:none"]);
      assert.equal(got.size, 200);
      for (const [i, k] of keys.entries()) assert.equal(got.get(k), i);
      const del = await mc.deleteMany([keys[0]!, "multi:none", keys[199]!]);
      assert.deepEqual(del, [true, false, true]);
    });

    it("hashKey co-locates keys on one server", async () => {
      const mc = client();
      const ring = new HashRing(labels);
      const owner = ring.serverFor("user:7");
      await mc.setMany(
        [
          ["user:7:name", "Ada"],
          ["user:7:mail", "ada@example.org"],
        ],
        { hashKey: "user:7" },
      );
      const d = direct(owner);
      assert.equal(await d.get("user:7:name"), "Ada");
      assert.equal(await d.get("user:7:mail"), "ada@example.org");
      assert.equal(await mc.get("user:7:name", { hashKey: "user:7" }), "Ada");
    });

    it("stats and version of every server; flush of all", async () => {
      const mc = client();
      assert.deepEqual(Object.keys(await mc.version()).sort(), [...labels].sort());
      assert.deepEqual(Object.keys(await mc.stats()).sort(), [...labels].sort());
      await mc.set("flushme", 1);
      await mc.flush();
      assert.equal(await mc.get("flushme"), undefined);
      assert.equal(mc.health().servers.length, 3);
    });
  });

  describe("cluster: failures", () => {
    it("kill -9 under load, eject: no caller waits past its deadline; keys move; the server is probed back in", async () => {
      const mc = client({
        timeout: 300,
        failover: { failureThreshold: 2, retryDelay: 100, maxRetryDelay: 200 },
      });
      const events: string[] = [];
      mc.on("serverDown", (e: { server: string }) => events.push(`down ${e.server}`));
      mc.on("serverUp", (e: { server: string }) => events.push(`up ${e.server}`));
      const victim = servers[1]!;
      const keys = Array.from({ length: 100 }, (_, i) => `kill:${i}`);
      await mc.setMany(keys.map((k) => [k, k] as const));

      let worst = 0;
      let ok = 0;
      let failed = 0;
      let stop = false;
      const load = Promise.all(
        Array.from({ length: 20 }, async (_, w) => {
          for (let i = w; !stop; i += 20) {
            const t = performance.now();
            try {
              await mc.get(keys[i % keys.length]!);
              ok++;
            } catch (e) {
              assert.ok(e instanceof ConnectionError || e instanceof TimeoutError, String(e));
              failed++;
            }
            worst = Math.max(worst, performance.now() - t);
          }
        }),
      );
      await sleep(100);
      await victim.kill();
      await waitFor(() => events.includes(`down ${victim.label}`), 3000);
      const healthDown = mc.health().servers.find((s) => s.label === victim.label)!;
      assert.notEqual(healthDown.state, "up");
      // With the victim ejected, every key is served (cold on its new owner): nothing fails.
      const before = failed;
      await sleep(200);
      assert.equal(failed, before, "no failures once the dead server is out of the ring");
      await victim.restart();
      await waitFor(() => events.includes(`up ${victim.label}`), 5000);
      stop = true;
      await load;
      assert.ok(worst < 300 + MARGIN, `worst latency ${worst.toFixed(0)} ms against a 300 ms deadline`);
      assert.ok(ok > 500, `${ok} reads served`);
      // Back in the ring: its keys route to it again.
      const ring = new HashRing(labels);
      const mine = keys.find((k) => ring.serverFor(k) === victim.label)!;
      await mc.set(mine, "back");
      assert.equal(await direct(victim.label).get(mine), "back");
    });

    it("eject: false — a down server's keys fail fast with ServerUnavailableError, or miss with failOpen", async () => {
      const victim = servers[2]!;
      const ring = new HashRing(labels);
      const mine = Array.from({ length: 50 }, (_, i) => `noeject:${i}`).find(
        (k) => ring.serverFor(k) === victim.label,
      )!;
      const mc = client({ timeout: 2000, failover: { eject: false, retryDelay: 10_000 } });
      const open = client({ timeout: 2000, failOpen: true, failover: { eject: false, retryDelay: 10_000 } });
      await mc.set(mine, "v");
      await victim.kill();
      await assert.rejects(mc.get(mine), ConnectionError); // the refused connection marks it down at once
      const t0 = performance.now();
      await assert.rejects(mc.get(mine), (e: Error) => {
        assert.ok(e instanceof ServerUnavailableError);
        // The message says why, not only that: the refused connection's reason, and when it is tried again.
        assert.match(
          e.message,
          new RegExp(`^${victim.label} is down \\(.*ECONNREFUSED.*\\); next probe in \\d+ ms$`),
        );
        return true;
      });
      await assert.rejects(mc.set(mine, "x"), ServerUnavailableError);
      assert.ok(performance.now() - t0 < 100, "fail fast: no waiting");
      await open.get(mine).catch(() => undefined); // marks it down in this client
      assert.equal(await open.get(mine), undefined, "failOpen: a miss");
      assert.deepEqual(await open.getMany([mine]), new Map());
      // failOpen is for reads: a write that did not happen is the caller's to know.
      for (const write of [
        () => open.set(mine, "x"),
        () => open.add(mine, "x"),
        () => open.delete(mine),
        () => open.incr(mine, 1n),
        () => open.touch(mine, 10),
        () => open.setMany([[mine, "x"]]),
        () => open.deleteMany([mine]),
      ]) {
        await assert.rejects(write(), ServerUnavailableError, String(write));
      }
      await victim.restart();
    });

    it("every server down and ejected: NoServersError at once, or a miss with failOpen", async () => {
      const nowhere = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
      const o = { servers: nowhere, timeout: 1000, failover: { eject: true, retryDelay: 10_000 } };
      const mc = client(o);
      const open = client({ ...o, failOpen: true });
      for (const c of [mc, open]) {
        // Each refused connection marks its server down at once, and ejects it.
        for (let i = 0; i < 10 && c.health().servers.some((s) => s.state === "up"); i++) {
          await c.get(`k${i}`).catch(() => undefined);
        }
        assert.deepEqual(
          c.health().servers.map((s) => s.state),
          ["down", "down"],
        );
      }
      await assert.rejects(mc.get("k"), (e: Error) => {
        assert.ok(e instanceof NoServersError && e instanceof ConnectionError);
        // Each server with its state and reason, and what to check.
        for (const label of nowhere) assert.match(e.message, new RegExp(`${label} down: .*ECONNREFUSED`));
        assert.match(e.message, /check that memcached runs/);
        return true;
      });
      await assert.rejects(mc.set("k", "v"), NoServersError);
      assert.equal(await open.get("k"), undefined, "failOpen: a miss");
      assert.deepEqual(await open.getMany(["k", "l"]), new Map());
      await assert.rejects(open.set("k", "v"), NoServersError, "failOpen is for reads");
    });

    it("a caller that retries in a loop while every server is down cannot starve the probes' timers", async () => {
      const nowhere = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
      const mc = client({ servers: nowhere, timeout: 1000, failover: { eject: true, retryDelay: 10_000 } });
      for (let i = 0; i < 10 && mc.health().servers.some((s) => s.state === "up"); i++) {
        await mc.get(`k${i}`).catch(() => undefined);
      }
      assert.ok(
        mc.health().servers.every((s) => s.state !== "up"),
        "every server is down: the loop below takes the fail-fast path",
      );
      let fired = false;
      setTimeout(() => {
        fired = true;
      }, 5);
      // Every call fails at once; were the failure synchronous, this loop would run on microtasks
      // alone and no timer could fire until it ends.
      const until = performance.now() + 200;
      let calls = 0;
      while (performance.now() < until) {
        await mc.get("k").catch(() => undefined);
        calls++;
      }
      assert.ok(calls > 10, `${calls} calls`);
      assert.equal(fired, true, "timers ran while the caller looped");
    });

    it("a server that missed more writes than are remembered is flushed before it serves again (#16 case 5)", async () => {
      const victim = servers[0]!;
      const ring = new HashRing(labels);
      const first = Array.from({ length: 100 }, (_, i) => `over:first:${current.protocol}:${i}`).find(
        (k) => ring.serverFor(k) === victim.label,
      )!;
      const mc = client({
        timeout: 300,
        failover: { failureThreshold: 1, retryDelay: 200, maxRetryDelay: 200 },
      });
      const flushed: { server: string; reason: string }[] = [];
      mc.on("serverFlushed", (e) => flushed.push(e));
      const events: string[] = [];
      mc.on("serverDown", (e) => events.push(`down ${e.server} ${e.error}`));
      mc.on("serverUp", (e) => events.push(`up ${e.server}`));
      let missed = 0;
      mc.on("writeFailure", (e) => {
        if (e.server === victim.label) missed++;
      });
      await mc.set(first, "old");
      await victim.pause(); // SIGSTOP: it keeps its data
      await mc.get(first).catch(() => undefined); // times out: down, and out of the ring
      await waitFor(() => mc.health().servers.find((s) => s.label === victim.label)!.state !== "up", 2000);
      assert.equal(await mc.set(first, "new"), true, "written to the next owner, remembered for the victim");
      // More keys of the victim's than the 10,000 remembered per server.
      const theirs: string[] = [];
      for (let i = 0; theirs.length < 10_100; i++) {
        const k = `over:${current.protocol}:${i}`;
        if (ring.serverFor(k) === victim.label) theirs.push(k);
      }
      for (let i = 0; i < theirs.length; i += 2525) {
        const part = theirs.slice(i, i + 2525).map((k) => [k, "x"] as const);
        assert.ok((await mc.setMany(part, { timeout: 5000 })).every(Boolean));
      }
      assert.ok(missed > 10_000, `${missed} writes missed the victim; ${events.join("; ")}`);
      victim.resume();
      await waitFor(() => mc.health().servers.find((s) => s.label === victim.label)!.state === "up", 5000);
      assert.deepEqual(
        flushed.map((f) => f.server),
        [victim.label],
        `one flush, said with an event; ${events.join("; ")}`,
      );
      assert.match(flushed[0]!.reason, /10000 writes missed it/);
      assert.equal(mc.health().flushes, 1, "and counted in health() (and so in Prometheus)");
      assert.equal(await direct(victim.label).get(first), undefined, "the old value is gone");
      assert.notEqual(await mc.get(first), "old", "a miss or the new value, never the old one");
    });

    it("a server that comes back never serves a value written while it was away", async () => {
      const victim = servers[1]!;
      const ring = new HashRing(labels);
      const keys = Array.from({ length: 80 }, (_, i) => `away:${i}`).filter(
        (k) => ring.serverFor(k) === victim.label,
      );
      assert.ok(keys.length >= 5);
      const mc = client({
        timeout: 150,
        failover: { failureThreshold: 2, retryDelay: 300, maxRetryDelay: 300 },
      });
      const failures: string[] = [];
      mc.on("writeFailure", (e: { server: string; key: string }) => failures.push(`${e.server} ${e.key}`));
      for (const k of keys) await mc.set(k, "old");
      await victim.pause(); // keeps its data: "old" would be served again if nothing were done
      // A write that times out on the hung server, then the server is marked down and ejected.
      await assert.rejects(
        mc.set(keys[0]!, "lost"),
        (e) => e instanceof TimeoutError || e instanceof ConnectionError,
      );
      await assert.rejects(
        mc.get(keys[1]!),
        (e) => e instanceof TimeoutError || e instanceof ConnectionError,
      );
      await waitFor(() => mc.health().servers.find((s) => s.label === victim.label)!.state !== "up", 2000);
      // While it is away, its keys are written elsewhere (or deleted).
      for (const k of keys.slice(1, -1)) assert.equal(await mc.set(k, "new"), true);
      assert.equal(await mc.delete(keys.at(-1)!), false, "not on the stand-in server");
      assert.ok(failures.length >= keys.length, `writeFailure events: ${failures.length}`);
      victim.resume();
      await waitFor(() => mc.health().servers.find((s) => s.label === victim.label)!.state === "up", 3000);
      // Back in the ring: none of the keys written (or deleted) meanwhile shows its old value.
      for (const k of keys) assert.notEqual(await mc.get(k), "old", k);
      const onVictim = direct(victim.label);
      for (const k of keys)
        assert.equal(await onVictim.get(k), undefined, `${k} deleted on the returning server`);
    });

    it("copies left on a fallback owner by ejection are deleted when the home server returns (#16 case 1)", async () => {
      const home = servers[0]!;
      const ring = new HashRing(labels);
      const k = Array.from({ length: 100 }, (_, i) => `fallback:${current.protocol}:${i}`).find(
        (x) => ring.serverFor(x) === home.label,
      )!;
      // Its next replica on the home ring takes it while the home is away.
      const fallback = ring.serversFor(k, 2)[1]!;
      const mc = client({
        timeout: 500,
        failover: { failureThreshold: 1, retryDelay: 100, maxRetryDelay: 100 },
      });
      const state = () => mc.health().servers.find((x) => x.label === home.label)!.state;
      await mc.set(k, "v1");
      await home.kill();
      await mc.get(k).catch(() => undefined); // refused: down and out of the ring
      assert.equal(await mc.set(k, "v2"), true, "written to the fallback owner");
      assert.equal(await direct(fallback).get(k), "v2");
      await home.restart(); // empty
      await waitFor(() => state() === "up", 3000);
      assert.equal(await direct(fallback).get(k), undefined, "the fallback's copy is gone");
      assert.equal(await mc.set(k, "v3"), true, "acknowledged by the home server");
      await home.kill();
      await mc.get(k).catch(() => undefined);
      await waitFor(() => state() !== "up", 2000);
      assert.notEqual(await mc.get(k), "v2", "never the fallback's old copy");
      await home.restart();
      await waitFor(() => state() === "up", 3000);
    });

    it("writes made while a returning server is being cleaned are cleaned too before it serves (#16 case 2)", async () => {
      const victim = servers[2]!;
      const proxy = await new FaultProxy(victim.host, victim.port).start();
      try {
        const ring3 = [labels[0]!, labels[1]!, proxy.label];
        const hash = new HashRing(ring3);
        const onVictim = Array.from({ length: 300 }, (_, i) => `cleaning:${current.protocol}:${i}`).filter(
          (x) => hash.serverFor(x) === proxy.label,
        );
        const [k1, k2] = onVictim as [string, string];
        const mc = client({
          servers: ring3,
          timeout: 3000,
          connectTimeout: 3000,
          failover: { failureThreshold: 1, retryDelay: 100, maxRetryDelay: 100 },
        });
        const state = () => mc.health().servers.find((x) => x.label === proxy.label)!.state;
        await mc.set(k1, "old");
        await mc.set(k2, "old"); // the victim keeps its data through all of this
        proxy.mode = "reset";
        await mc.get(k1).catch(() => undefined); // reset: down and out of the ring
        await waitFor(() => state() !== "up", 2000);
        assert.equal(await mc.set(k1, "new"), true, "remembered for the victim: its clean-up has work");
        // Every reply through the proxy now takes 600 ms: the probe's, then the clean-up's.
        proxy.delayMs = 600;
        proxy.mode = "delay";
        await waitFor(() => state() === "probing", 2000);
        await sleep(900); // the probe is answered at ~600 ms; the clean-up is under way until ~1,200 ms
        assert.equal(state(), "probing", "still being cleaned");
        assert.equal(await mc.set(k2, "new"), true, "a write during the clean-up");
        await waitFor(() => state() === "up", 5000);
        proxy.mode = "pass";
        for (const k of [k1, k2]) assert.notEqual(await mc.get(k), "old", k);
      } finally {
        await proxy.stop();
      }
    });

    it("a write that timed out after it was written is never applied over a newer one (#16 case 6)", async () => {
      const proxy = await new FaultProxy(servers[0]!.host, servers[0]!.port).start();
      try {
        const mc = client({
          servers: [proxy.label],
          timeout: 100,
          socketTimeout: 5000,
          pool: { min: 2, max: 2 },
          retries: { attempts: 0 },
        });
        const k = `late:${current.protocol}`;
        await Promise.all([mc.get("warm:1"), mc.get("warm:2")]); // both connections open
        proxy.delayMs = 400;
        proxy.mode = "stall-next"; // the server reads this set only 400 ms later
        await assert.rejects(mc.set(k, "v1"), TimeoutError);
        assert.equal(await mc.set(k, "v2", { timeout: 1000 }), true, "on the other connection, at once");
        await sleep(600); // v1 has reached the server by now
        assert.notEqual(await mc.get(k, { timeout: 1000 }), "v1", "a miss or v2, never the late v1");
      } finally {
        await proxy.stop();
      }
    });

    it("gutter: a down owner's keys go to the gutter server with a capped TTL, not to the other servers", async () => {
      const [main0, main1, gutter] = labels as [string, string, string];
      const ring = new HashRing([main0, main1]);
      const k = Array.from({ length: 50 }, (_, i) => `gut:${i}`).find((x) => ring.serverFor(x) === main0)!;
      const mc = client({
        servers: [main0, main1],
        gutter: { servers: [gutter], ttl: 10 },
        timeout: 300,
        failover: { failureThreshold: 1, retryDelay: 60_000 },
      });
      await servers[0]!.kill();
      try {
        // Refused: main0 is down at once, and the retry is answered by the gutter (a miss so far).
        assert.equal(await mc.get(k), undefined);
        assert.notEqual(mc.health().servers.find((s) => s.label === main0)?.state, "up");
        assert.equal(await mc.set(k, "in-gutter", { ttl: 3600 }), true);
        assert.equal(await mc.get(k), "in-gutter", "read from the gutter");
        assert.equal(await direct(gutter).get(k), "in-gutter");
        assert.equal(await direct(main1).get(k), undefined, "not rehashed onto the healthy server");
        const ttl = await remainingTtl(gutter, k);
        assert.ok(ttl > 0 && ttl <= 10, `gutter TTL capped: ${ttl}`);
        assert.equal(mc.health().servers.find((s) => s.label === gutter)?.gutter, true);
      } finally {
        await servers[0]!.restart();
      }
    });

    it("a SIGSTOPped server is marked down after failureThreshold timeouts and comes back after SIGCONT", async () => {
      const victim = servers[0]!;
      const ring = new HashRing(labels);
      const mine = Array.from({ length: 50 }, (_, i) => `stop:${i}`).find(
        (k) => ring.serverFor(k) === victim.label,
      )!;
      const mc = client({
        timeout: 150,
        failover: { failureThreshold: 2, retryDelay: 100, maxRetryDelay: 100 },
      });
      await mc.set(mine, "v");
      await victim.pause();
      for (let i = 0; i < 2; i++)
        await assert.rejects(mc.get(mine), (e) => e instanceof TimeoutError || e instanceof ConnectionError);
      await waitFor(() => mc.health().servers.find((s) => s.label === victim.label)!.state !== "up", 2000);
      assert.equal(await mc.get(mine), undefined, "ejected: its key now goes to the next owner (a miss)");
      victim.resume();
      await waitFor(() => mc.health().servers.find((s) => s.label === victim.label)!.state === "up", 3000);
      assert.equal(await mc.get(mine), "v", "back in the ring with its data");
    });
  });
});
