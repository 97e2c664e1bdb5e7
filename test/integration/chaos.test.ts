/**
 * One server of three behind the fault proxy cycles through every fault (blackhole, reset, slow,
 * cut mid-value, garbage) under read load, with `replicas: 2`. Every read must be served with its own
 * key's value within its deadline; nothing may leak or go unhandled.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "../../src/index.ts";
import { tickerActive } from "../../src/util/ticker.ts";
import { type MemcachedServer, sleep, startMemcached } from "../support/memcached.ts";
import { FaultProxy, type ProxyMode } from "../support/proxy.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

const DEADLINE = 200;
const MARGIN = 300;

let servers: MemcachedServer[] = [];
let proxy: FaultProxy;
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  servers = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  proxy = await new FaultProxy(servers[1]!.host, servers[1]!.port).start();
});
after(async () => {
  await proxy.stop();
  await Promise.all(servers.map((s) => s.kill()));
  process.off("unhandledRejection", onUnhandled);
});

function handles(): number {
  return process.getActiveResourcesInfo().filter((h) => h === "TCPSocketWrap" || h === "Timeout").length;
}

forEachProtocol(() => {
  describe("chaos: every proxy fault on one of three servers, replicas: 2", () => {
    it("every read served with its own value, within the deadline; nothing leaks", async (t) => {
      const before = handles();
      const labels = [servers[0]!.label, proxy.label, servers[2]!.label];
      const mc = new Client({
        protocol: current.protocol,
        servers: labels,
        replicas: 2,
        timeout: DEADLINE,
        failover: { failureThreshold: 2, retryDelay: 150, maxRetryDelay: 300 },
      });
      const keys = Array.from({ length: 300 }, (_, i) => `chaos:${i}:${"v".repeat(i % 40)}`);
      assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));

      let stop = false;
      let ok = 0;
      let failed = 0;
      let worst = 0;
      const errors = new Map<string, number>();
      const load = Promise.all(
        Array.from({ length: 16 }, async (_, w) => {
          for (let i = w; !stop; i += 16) {
            const k = keys[i % keys.length]!;
            const t0 = performance.now();
            try {
              assert.equal(await mc.get(k), k);
              ok++;
            } catch (e) {
              failed++;
              errors.set((e as Error).name, (errors.get((e as Error).name) ?? 0) + 1);
            }
            worst = Math.max(worst, performance.now() - t0);
          }
        }),
      );
      const faults: [ProxyMode, () => void][] = [
        ["blackhole", () => {}],
        ["reset", () => proxy.dropAll()],
        ["delay", () => (proxy.delayMs = 500)],
        ["cut", () => (proxy.cutAfter = 50)],
        ["corrupt", () => (proxy.garbage = Buffer.from("VA 5 f0 O____\r\nwrong\r\n"))],
      ];
      for (const [mode, setup] of faults) {
        setup();
        proxy.mode = mode;
        await sleep(500);
        proxy.mode = "pass";
        await sleep(500);
      }
      stop = true;
      await load;
      const share = (100 * ok) / (ok + failed);
      t.diagnostic(
        `${ok} of ${ok + failed} reads served (${share.toFixed(2)} %), worst ${worst.toFixed(1)} ms vs ${DEADLINE} ms deadline; errors ${JSON.stringify([...errors])}`,
      );
      assert.equal(failed, 0, "every read served by a replica");
      assert.ok(worst < DEADLINE + MARGIN, `worst ${worst.toFixed(0)} ms`);
      await mc.close();
      proxy.dropAll();
      await sleep(50);
      assert.equal(tickerActive(), false, "no deadline timer left");
      assert.ok(handles() <= before, `no socket or timer left (${handles()} > ${before})`);
      assert.deepEqual(unhandled, []);
    });
  });
});
