/**
 * A server that comes back (after a pause, a kill, a reset) never serves a value older than the last
 * acknowledged write: what it missed is deleted or it is flushed before it serves, copies left on
 * its stand-in are deleted, and a write that reached it late never lands over a newer one (#16).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConnectionError, HashRing, TimeoutError } from "../../src/index.ts";
import { clusterSuite } from "../support/cluster-suite.ts";
import { sleep, waitFor } from "../support/memcached.ts";
import { FaultProxy } from "../support/proxy.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

const { servers, labels, client, direct } = clusterSuite();

forEachProtocol(() => {
  describe("cluster: a server that comes back", () => {
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
  });
});
