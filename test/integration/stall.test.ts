import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, TimeoutError } from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";

let server: MemcachedServer;
before(async () => {
  server = await startMemcached();
});
after(async () => {
  await server.kill();
});

/** Keeps the event loop busy for `ms` (a long turn, a GC pause, a descheduled process). */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

describe("a stall of the event loop", () => {
  it("a reply that arrived while the loop was blocked past the deadline is delivered, not timed out", async () => {
    const mc = new Client({ servers: [server.label], timeout: 50 });
    try {
      assert.equal(await mc.set("stall:k", "v"), true);
      for (let round = 0; round < 5; round++) {
        const got = mc.get("stall:k");
        // Written (the write goes out on this turn's I/O), then answered while the loop is blocked.
        await new Promise((resolve) => setImmediate(resolve));
        block(150);
        assert.equal(await got, "v", `round ${round}: the reply that came during the stall`);
      }
      assert.equal(mc.health().servers[0]!.failures, 0, "no time-out counted against a healthy server");
    } finally {
      await mc.close();
    }
  });

  it("a request still unanswered after the stall times out as before", async () => {
    const mc = new Client({ servers: [server.label], timeout: 50, failover: { failureThreshold: 100 } });
    try {
      await mc.set("stall:p", "v");
      await server.pause();
      const got = mc.get("stall:p");
      await new Promise((resolve) => setImmediate(resolve));
      block(150);
      await assert.rejects(got, TimeoutError);
    } finally {
      server.resume();
      await mc.close();
    }
  });
});
