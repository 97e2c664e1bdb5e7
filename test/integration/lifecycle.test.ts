import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  Client,
  ClientClosedError,
  InvalidArgumentError,
  MemcachedError,
  TimeoutError,
} from "../../src/index.ts";
import { tickerActive } from "../../src/util/ticker.ts";
import { type MemcachedServer, sleep, startMemcached } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let server: MemcachedServer;

before(async () => {
  server = await startMemcached();
});
after(async () => {
  await server.kill();
});

/** Handles of the kinds a client could leak. */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of process.getActiveResourcesInfo()) {
    if (h === "TCPSocketWrap" || h === "Timeout" || h === "Immediate" || h === "TCPWRAP")
      out[h] = (out[h] ?? 0) + 1;
  }
  return out;
}

async function settle(): Promise<void> {
  // Let destroyed sockets' close callbacks run.
  await sleep(20);
}

forEachProtocol(() => {
  describe("client life cycle", () => {
    it("close() lets requests under way finish, then closes; later calls reject with ClientClosedError", async () => {
      const mc = new Client({ protocol: current.protocol, servers: [server.label] });
      await mc.set("life", "v");
      const pending = Array.from({ length: 200 }, () => mc.get("life"));
      const closing = mc.close();
      await assert.rejects(mc.get("life"), ClientClosedError);
      assert.deepEqual(await Promise.all(pending), Array(200).fill("v"));
      await closing;
      await assert.rejects(mc.set("life", 1), ClientClosedError);
      await assert.rejects(mc.stats(), ClientClosedError);
      await mc.close(); // idempotent
    });

    it("no socket or timer is left behind after close()", async () => {
      await settle();
      const before = handles();
      const mc = new Client({ protocol: current.protocol, servers: [server.label], timeout: 100 });
      await Promise.all(Array.from({ length: 50 }, (_, i) => mc.set(`leak:${i}`, i)));
      await mc.getMany(Array.from({ length: 50 }, (_, i) => `leak:${i}`));
      await server.pause();
      try {
        await assert.rejects(mc.get("leak:0"), (e) => e instanceof MemcachedError);
      } finally {
        server.resume();
      }
      await mc.get("leak:1");
      await mc.close();
      await settle();
      // None more than before (one pending then, an Immediate of another client's, may have run since).
      const after = handles();
      for (const [kind, n] of Object.entries(after)) {
        assert.ok(
          n <= (before[kind] ?? 0),
          `${n} ${kind} after close, ${before[kind] ?? 0} before the client`,
        );
      }
      assert.equal(tickerActive(), false, "the shared deadline timer is stopped");
    });

    it("the deadline timer runs only while requests wait", async () => {
      const mc = new Client({ protocol: current.protocol, servers: [server.label] });
      try {
        await mc.ping();
        await sleep(20);
        assert.equal(tickerActive(), false, "idle client: no timer");
        const p = mc.get("x");
        assert.equal(tickerActive(), true, "armed while a request waits");
        await p;
        await sleep(20);
        assert.equal(tickerActive(), false, "stopped again");
      } finally {
        await mc.close();
      }
    });

    it("close() does not wait past the deadlines of requests to a hung server", async () => {
      const mc = new Client({ protocol: current.protocol, servers: [server.label], timeout: 150 });
      await mc.ping();
      await server.pause();
      try {
        const failed = assert.rejects(
          mc.get("hung"),
          (e) => e instanceof TimeoutError || e instanceof MemcachedError,
        );
        const t0 = performance.now();
        await mc.close();
        assert.ok(performance.now() - t0 < 1000);
        await failed;
      } finally {
        server.resume();
      }
    });

    it("bad options are a typed error at construction", () => {
      assert.throws(() => new Client({ protocol: current.protocol, servers: [] }), InvalidArgumentError);
      assert.throws(
        () => new Client({ protocol: current.protocol, servers: "host:notaport" }),
        InvalidArgumentError,
      );
      assert.throws(
        () => new Client({ protocol: current.protocol, servers: [server.label], timeout: -1 }),
        InvalidArgumentError,
      );
      assert.throws(
        () => new Client({ protocol: current.protocol, servers: [server.label], maxInFlight: 1.5 }),
        InvalidArgumentError,
      );
      // A proxy places keys itself: options that would place copies, and (twemproxy) auth, are refused.
      const servers = [server.label];
      const proxied = (o: object) => () => new Client({ servers, proxy: "twemproxy", ...o });
      for (const o of [
        { replicas: 2 },
        { warmUp: { window: 1000 } },
        { hedge: { after: 5 } },
        { gutter: { servers: [server.label], ttl: 10 } },
        { auth: { username: "u", password: "p" } },
      ])
        assert.throws(proxied(o), /places keys itself/);
      assert.throws(proxied({ protocol: "meta" }), /speaks only the text protocol/);
      assert.throws(() => new Client({ servers, proxy: "mcrouter" as "twemproxy" }), InvalidArgumentError);
      const ok = new Client({ protocol: current.protocol, servers: `${server.label}` });
      assert.equal(ok.health().servers[0]?.label, server.label);
      const v6 = new Client({ protocol: current.protocol, servers: ["[::1]:11311"] });
      assert.equal(v6.health().servers[0]?.label, "[::1]:11311");
    });
  });
});
