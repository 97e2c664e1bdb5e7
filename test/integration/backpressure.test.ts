import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, QueueFullError, TimeoutError } from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let server: MemcachedServer;

before(async () => {
  server = await startMemcached();
});
after(async () => {
  server.resume();
  await server.kill();
});

/** A client of the suite's server that never retries and waits long for a silent socket. */
function queueClient(o: { timeout: number; maxQueue: number; maxInFlight: number; poolMax: number }): Client {
  return new Client({
    protocol: current.protocol,
    servers: [server.label],
    timeout: o.timeout,
    socketTimeout: 10_000,
    maxQueue: o.maxQueue,
    maxInFlight: o.maxInFlight,
    pool: { min: 1, max: o.poolMax },
    retries: { attempts: 0 },
  });
}

forEachProtocol(() => {
  describe("backpressure", () => {
    it("a hung server and callers pushing far past maxQueue: bounded memory, QueueFullError at once, then service returns", async () => {
      const maxQueue = 1000;
      const maxInFlight = 100;
      const mc = queueClient({ timeout: 1500, maxQueue, maxInFlight, poolMax: 1 });
      try {
        await mc.set("bp", "ok");
        await server.pause();
        const heapBefore = process.memoryUsage().heapUsed;
        const N = 50_000;
        let full = 0;
        // The order in which rejections arrive: every QueueFullError must come before the first
        // TimeoutError (refused at once, not at the deadline), however long the loop below takes.
        const order: string[] = [];
        const settled: Promise<void>[] = [];
        for (let i = 0; i < N; i++) {
          settled.push(
            mc.get(`bp:${i}`).then(
              () => {},
              (e: unknown) => {
                if (e instanceof QueueFullError) {
                  full++;
                  order.push("full");
                } else {
                  assert.ok(e instanceof TimeoutError, String(e));
                  order.push("timeout");
                }
              },
            ),
          );
        }
        await new Promise((r) => setImmediate(r));
        const h = mc.health().servers[0]!;
        assert.ok(h.inFlight <= maxInFlight + 1, `in flight ${h.inFlight}`);
        assert.ok(h.queued <= maxQueue, `queued ${h.queued}`);
        await new Promise((r) => setTimeout(r, 50));
        assert.ok(full >= N - maxQueue - maxInFlight - 1, `${full} refused at once`);
        const grown = process.memoryUsage().heapUsed - heapBefore;
        assert.ok(grown < 100 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB for ${N} calls`);
        await Promise.all(settled); // the queued ones time out at their deadline
        assert.ok(order.includes("timeout"), "the queued requests timed out");
        assert.ok(
          order.lastIndexOf("full") < order.indexOf("timeout"),
          "QueueFullError at once, before any deadline",
        );
        server.resume();
        assert.equal(await mc.get("bp"), "ok", "service returns after resume");
      } finally {
        server.resume();
        await mc.close();
      }
    });

    it("maxQueue bounds a server's queue, however many connections it has", async () => {
      const maxQueue = 50;
      const maxInFlight = 4;
      const mc = queueClient({ timeout: 3000, maxQueue, maxInFlight, poolMax: 3 });
      try {
        // Enough at once for the pool to lease all its connections (one more at half of maxInFlight).
        await Promise.all(Array.from({ length: 40 }, (_, i) => mc.set(`bq:${i}`, "v")));
        assert.equal(mc.health().servers[0]!.pool.active, 3, "three connections in use");
        await server.pause();
        let full = 0;
        const settled = Array.from({ length: 1000 }, (_, i) =>
          mc.get(`bq:${i}`).catch((e: unknown) => {
            if (e instanceof QueueFullError) full++;
          }),
        );
        await new Promise((r) => setImmediate(r));
        const h = mc.health().servers[0]!;
        assert.equal(h.queueLimit, maxQueue);
        assert.ok(h.queued <= maxQueue, `${h.queued} queued for a maxQueue of ${maxQueue}`);
        assert.ok(full >= 1000 - maxQueue - 3 * maxInFlight, `${full} refused at once`);
        server.resume();
        await Promise.all(settled);
      } finally {
        server.resume();
        await mc.close();
      }
    });
  });
});
