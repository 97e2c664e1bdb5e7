/**
 * A client event listener that throws is the application's bug: it must not unwind into the client
 * (a `set` that throws instead of settling, a server half marked down, a rejection no one handles).
 * Its error is thrown again on the next tick, as `diagnostics_channel` does with a subscriber's: there
 * it is the process's uncaught exception.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, HashRing } from "../../src/index.ts";
import { freePort, type MemcachedServer, startMemcached, waitFor } from "../support/memcached.ts";

/** Runs `body` with uncaught exceptions captured (not failing the test runner), and returns them. */
async function capturingUncaught(body: () => Promise<void>): Promise<unknown[]> {
  const caught: unknown[] = [];
  process.setUncaughtExceptionCaptureCallback((err) => caught.push(err));
  try {
    await body();
    await new Promise((resolve) => setImmediate(resolve)); // the next tick's rethrow comes before this
  } finally {
    process.setUncaughtExceptionCaptureCallback(null);
  }
  return caught;
}

describe("client event listeners that throw", () => {
  let live: MemcachedServer;
  before(async () => {
    live = await startMemcached();
  });
  after(async () => {
    await live.kill();
  });

  it("a throwing writeFailure or serverDown listener leaves the calls settling as they would, and its error is thrown on the next tick", async () => {
    const refusing = `127.0.0.1:${await freePort()}`;
    const labels = [live.label, refusing];
    const ring = new HashRing(labels);
    const onRefusing = Array.from({ length: 200 }, (_, i) => `listener:${i}`).filter(
      (k) => ring.serverFor(k) === refusing,
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const mc = new Client({
      servers: labels,
      timeout: 500,
      failover: { failureThreshold: 1, retryDelay: 60_000, maxRetryDelay: 60_000 },
    });
    try {
      const caught = await capturingUncaught(async () => {
        mc.on("serverDown", () => {
          throw new Error("serverDown listener failure");
        });
        mc.on("writeFailure", () => {
          throw new Error("writeFailure listener failure");
        });
        await mc.get(onRefusing[0]!).catch(() => undefined); // refused: the server is marked down
        await waitFor(() => mc.health().servers.find((s) => s.label === refusing)!.state !== "up", 2000);
        // Its keys go to the live server meanwhile; each write is remembered for the one away.
        const writes = onRefusing.slice(1, 4).map((k) => mc.set(k, "v"));
        assert.deepEqual(await Promise.all(writes), [true, true, true], "the writes went through");
        for (const k of onRefusing.slice(1, 4)) assert.equal(await mc.get(k), "v");
      });
      const messages = caught.map((e) => (e as Error).message);
      assert.ok(messages.includes("serverDown listener failure"), `thrown again: ${messages.join(", ")}`);
      assert.equal(
        messages.filter((m) => m === "writeFailure listener failure").length,
        3,
        messages.join(", "),
      );
      assert.deepEqual(unhandled, [], "no unhandled rejection");
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await mc.close();
    }
  });
});
