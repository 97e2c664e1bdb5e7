/**
 * The hot path allocates no closure and no timer per request. Checked by holding N requests in flight
 * against a server that never answers, then counting the live functions in the heap and the timers
 * created meanwhile (async_hooks).
 */
import assert from "node:assert/strict";
import { createHook } from "node:async_hooks";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { queryObjects } from "node:v8";
import { Client } from "../../src/index.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let silent: Server;
const sockets = new Set<Socket>();
let label = "";

before(async () => {
  // Accepts, reads, never answers: requests stay in flight.
  silent = createServer((s) => {
    sockets.add(s);
    s.on("data", () => {});
    s.on("error", () => {});
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const a = silent.address();
  label = `127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}`;
});
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
});

/**
 * Number of live functions (closures, and V8's promise-resolving functions) in this process's heap.
 * `queryObjects` counts after a full GC, without writing a heap snapshot (which took a minute per run).
 */
function closures(): number {
  return queryObjects(Function, { format: "count" });
}

forEachProtocol(() => {
  describe("allocations per request", () => {
    it("no closure of ours and no timer per request", async () => {
      const mc = new Client({
        protocol: current.protocol,
        servers: [label],
        timeout: 60_000,
        socketTimeout: 60_000,
        // The silent server never answers the `version` handshake either: it must not time out (and
        // fail every request) while a busy machine runs the check.
        connectTimeout: 60_000,
        maxInFlight: 100_000,
        maxQueue: 100_000,
        // Retried, the requests would wait out their deadline on the silent server after the check.
        retries: { attempts: 0 },
      });
      const warm = mc.get("warm-up"); // connect, and load every code path once
      warm.catch(() => {});
      // Connected, and the warm-up get and the version handshake written (a busy machine takes longer
      // than a fixed pause): what the connect held for a while is not counted as ours.
      while (mc.health().servers[0]!.inFlight < 2) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 20));

      const N = 20_000;
      const timers = { Timeout: 0, Immediate: 0 };
      const hook = createHook({
        init(_id, type) {
          if (type === "Timeout" || type === "Immediate") timers[type]++;
        },
      });
      const before = closures();
      hook.enable();
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) pending.push(mc.get(`key:${i}`));
      let settled = 0;
      const count = (): void => {
        settled++;
      };
      for (const p of pending) p.catch(count); // one shared handler: no closure per promise here either
      await new Promise((r) => setImmediate(r)); // let the batch be written
      hook.disable();
      const grown = closures() - before;

      // Each pending promise holds its two resolving functions (V8's own); anything of ours would add more.
      assert.ok(grown / N <= 2.05, `${(grown / N).toFixed(2)} closures per request in flight`);
      assert.ok(
        grown / N >= 1.9,
        `the count sees the promises' own resolving functions (the check can fail): ${(grown / N).toFixed(2)} per request, ${settled} requests settled before it, ${before} functions before`,
      );
      // None per request: a per-request timer would make thousands. A few may be shared ones (the
      // deadline ticker armed again after it stopped; a busy run of the suite saw one).
      assert.ok(timers.Timeout < 5, `${timers.Timeout} timers for ${N} requests`);
      // Ours, one per flush, and one deadline check after the issuing loop (it stalls the event loop,
      // so the ticker reads the replies first: see `util/ticker.ts`).
      assert.ok(timers.Immediate <= 3, `${timers.Immediate} setImmediate for ${N} requests (one per flush)`);
      assert.equal(
        mc.health().servers[0]?.inFlight,
        N + 2,
        "ours, the warm-up get and the connection's version handshake",
      );

      for (const s of sockets) s.destroy();
      await Promise.allSettled(pending);
      await mc.close();
    });
  });
});
