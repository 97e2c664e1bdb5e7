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

forEachProtocol(() => {
  describe("backpressure", () => {
    it("a hung server and callers pushing far past maxQueue: bounded memory, QueueFullError at once, then service returns", async () => {
      const maxQueue = 1000;
      const maxInFlight = 100;
      const mc = new Client({
        protocol: current.protocol,
        servers: [server.label],
        timeout: 1500,
        socketTimeout: 10_000,
        maxQueue,
        maxInFlight,
        pool: { min: 1, max: 1 },
        retries: { attempts: 0 },
      });
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
  });
});
