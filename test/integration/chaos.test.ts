/**
 * One server of three behind the fault proxy cycles through every fault (blackhole, reset, slow,
 * cut mid-value, garbage) under read load, with `replicas: 2`. Every read must be served with its own
 * key's value within its deadline; nothing may leak or go unhandled.
 *
 * Judged against the event loop's stalls (a busy machine descheduling this process shows as one): a
 * stall as long as an attempt's share of the deadline times out attempts on healthy servers too, and
 * two such timeouts mark a server down, so reads then may miss (their key's next server is cold) or
 * fail with a deadline error. Such a read is allowed only near a stall that long; another key's
 * value, an unexpected error or a call later than its stall allows never is.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "../../src/index.ts";
import { tickerActive } from "../../src/util/ticker.ts";
import { type MemcachedServer, sleep, startMemcached } from "../support/memcached.ts";
import { FaultProxy, type ProxyMode } from "../support/proxy.ts";
import { current, forEachProtocol } from "../support/protocols.ts";
import { ReadJudge } from "../support/read-judge.ts";

const DEADLINE = 200;
const FAILOVER = { failureThreshold: 2, retryDelay: 150, maxRetryDelay: 300 };
/**
 * How long a stall's effects last after it: a server it marked down stays out for up to its longest
 * back-off (with jitter), then its probe gets a deadline.
 */
const RECOVERY = FAILOVER.maxRetryDelay * 1.25 + DEADLINE;

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
        failover: FAILOVER,
      });
      const judge = new ReadJudge({ deadline: DEADLINE, share: DEADLINE / 2, recovery: RECOVERY });
      try {
        const keys = Array.from({ length: 300 }, (_, i) => `chaos:${i}:${"v".repeat(i % 40)}`);
        assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
        let stop = false;
        const load = Promise.all(
          Array.from({ length: 16 }, async (_, w) => {
            for (let i = w; !stop; i += 16) {
              const k = keys[i % keys.length]!;
              const t0 = performance.now();
              try {
                const v = await mc.get(k);
                if (v === k) judge.serve(`get ${k}`, t0);
                else if (v === undefined) judge.unserved(`get ${k}`, t0, v);
                else judge.wrong(`get ${k}`, t0, v);
              } catch (e) {
                judge.unserved(`get ${k}`, t0, e);
              }
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
        try {
          for (const [mode, setup] of faults) {
            setup();
            proxy.mode = mode;
            await sleep(500);
            proxy.mode = "pass";
            await sleep(500);
          }
        } finally {
          proxy.mode = "pass";
          stop = true;
          await load;
        }
        t.diagnostic(judge.summary());
        assert.deepEqual(judge.defects, [], "every read served by a replica, within its deadline");
        assert.ok(judge.served > judge.excused, "most reads were served");
      } finally {
        judge.stop();
        await mc.close();
      }
      proxy.dropAll();
      await sleep(50);
      assert.equal(tickerActive(), false, "no deadline timer left");
      assert.ok(handles() <= before, `no socket or timer left (${handles()} > ${before})`);
      assert.deepEqual(unhandled, []);
    });
  });
});
