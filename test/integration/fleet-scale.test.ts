/**
 * A fleet of a thousand servers of which 300 refuse connections (#31): 2,000 concurrent gets with a
 * 250 ms deadline all settle in time — the refusing servers are marked down one by one as they refuse,
 * and each mark costs a pass over the ring, not a rebuild. The 700 live servers are one memcached
 * listening on 700 loopback addresses (each a server of its own to the client); the 300 others are
 * loopback addresses where nothing listens. Lateness is judged against the time the event loop was
 * seen blocked (connects start in waves, see `connect-pacing.ts`; `npm run bench:fleet` times the
 * longest stall).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client } from "../../src/index.ts";
import { freePort, type MemcachedServer, startMemcached } from "../support/memcached.ts";

const LIVE = 700;
const REFUSING = 300;
const DEADLINE = 250;
/** Slack on top of the deadline and the stall observed: the ticker's period and a timer's lateness. */
const SLACK = 20;

const liveHost = (i: number) => `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`;
let server: MemcachedServer;
let port = 0;

before(async () => {
  port = await freePort();
  const extra = Array.from({ length: LIVE - 1 }, (_, i) => ["-l", liveHost(i + 1)]).flat();
  server = await startMemcached({ host: liveHost(0), port, args: ["-c", "4096", ...extra] });
});
after(async () => {
  await server.kill();
});

describe("fleet scale", { timeout: 60_000 }, () => {
  it("1,000 servers, 300 refusing: 2,000 concurrent gets each settle within the deadline", async (t) => {
    const live = Array.from({ length: LIVE }, (_, i) => `${liveHost(i)}:${port}`);
    // Port 1 on 127.0.30.x–127.0.31.x: nothing listens there, connections are refused at once.
    const refusing = Array.from(
      { length: REFUSING },
      (_, i) => `127.0.${30 + Math.floor(i / 250)}.${(i % 250) + 1}:1`,
    );
    const mc = new Client({ servers: [...live, ...refusing], timeout: DEADLINE, failOpen: true });
    try {
      const keys = Array.from({ length: 2000 }, (_, i) => `scale:${i}`);
      // Time the event loop was blocked while the calls ran: the issuing loop itself, and every gap
      // between two ticks of a timer of the shortest period beyond that period (all of them: on a
      // busy machine a process starved of CPU shows as many short gaps). A call late by no more than
      // that missed no deadline of its own.
      let blocked = 0;
      let last = performance.now();
      const watch = setInterval(() => {
        const now = performance.now();
        if (now - last > 1) blocked += now - last - 1;
        last = now;
      }, 1);
      const late: number[] = [];
      let hits = 0;
      const issuing = performance.now();
      const calls = keys.map(async (k) => {
        const t0 = performance.now();
        const v = await mc.get(k);
        if (v !== undefined) hits++;
        late.push(performance.now() - t0 - DEADLINE);
      });
      blocked += performance.now() - issuing;
      await Promise.all(calls);
      clearInterval(watch);
      const worst = Math.max(...late);
      const down = mc.health().servers.filter((s) => s.state !== "up").length;
      t.diagnostic(
        `worst call ${(worst + DEADLINE).toFixed(0)} ms against a ${DEADLINE} ms deadline; event loop blocked ${blocked.toFixed(0)} ms in all; ${down} servers down`,
      );
      assert.ok(
        worst <= SLACK + blocked,
        `a call settled ${worst.toFixed(0)} ms past its deadline (event loop blocked ${blocked.toFixed(0)} ms)`,
      );
      assert.ok(down <= REFUSING, "no live server was marked down");
      assert.equal(hits, 0, "nothing was stored under these keys");
      // The live servers serve: a set and a get of a key on each of a few of them.
      // (Whether they serve, not how fast: a busy machine may hold a reply past 250 ms.)
      for (const k of keys.slice(0, 50)) {
        assert.equal(await mc.set(k, k, { timeout: 5000 }), true);
        assert.equal(await mc.get(k, { timeout: 5000 }), k);
      }
    } finally {
      await mc.close();
    }
  });
});
