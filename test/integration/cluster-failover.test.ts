/**
 * A server of three goes down (killed, SIGSTOPped, refusing): callers fail fast or fail over within
 * their deadline, its keys move (or go to the gutter, or fail fast without ejection), and it is
 * probed back in.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ConnectionError,
  HashRing,
  NoServersError,
  ServerUnavailableError,
  TimeoutError,
} from "../../src/index.ts";
import { clusterSuite } from "../support/cluster-suite.ts";
import { LoopStalls, STALL_SLACK } from "../support/loop-stalls.ts";
import { freePort, sleep, waitFor } from "../support/memcached.ts";
import { remainingTtl } from "../support/raw.ts";
import { forEachProtocol } from "../support/protocols.ts";

const { servers, labels, client, direct } = clusterSuite();

forEachProtocol(() => {
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

      const DEADLINE = 300;
      const stalls = new LoopStalls();
      const late: string[] = [];
      let ok = 0;
      /** When each failed read began. */
      const failedAt: number[] = [];
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
              failedAt.push(t);
            }
            const lateness = stalls.lateness("a get", t, performance.now() - t, DEADLINE);
            if (lateness !== null && late.length < 10) late.push(lateness);
          }
        }),
      );
      try {
        await sleep(100);
        await victim.kill();
        await waitFor(() => events.includes(`down ${victim.label}`), 3000);
        const healthDown = mc.health().servers.find((s) => s.label === victim.label)!;
        assert.notEqual(healthDown.state, "up");
        // With the victim ejected, every key is served (cold on its new owner): nothing fails. Unless
        // the event loop stalls as long as a deadline: then healthy servers time out too.
        const ejected = performance.now();
        await sleep(200);
        const since = failedAt.filter((t) => t >= ejected).length;
        // A server marked down by a stall stays out up to its longest back-off, then its probe has a deadline.
        const stall = stalls.longestIn(ejected - 200 * 1.25 - DEADLINE, performance.now());
        if (stall < DEADLINE - STALL_SLACK) {
          assert.equal(
            since,
            0,
            `no failures once the dead server is out of the ring (longest stall ${stall.toFixed(0)} ms)`,
          );
        }
        await victim.restart();
        await waitFor(() => events.includes(`up ${victim.label}`), 5000);
      } finally {
        stop = true;
        await load.finally(() => stalls.stop());
      }
      assert.deepEqual(late, [], "no caller waits past its deadline, beyond the event loop's stalls");
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
