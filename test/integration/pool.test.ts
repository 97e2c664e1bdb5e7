import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { Client, ConnectionError, ProtocolError } from "../../src/index.ts";
import { ServerPool } from "../../src/pool/server-pool.ts";
import { type MemcachedServer, sleep, startMemcached } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let server: MemcachedServer;
let observer: Client;

before(async () => {
  server = await startMemcached();
  observer = new Client({ servers: [server.label] });
});
after(async () => {
  await observer.close();
  await server.kill();
});

/** Connections memcached has open right now (the observer's own included). */
async function serverConnections(): Promise<number> {
  return Number((await observer.stats())[server.label]?.curr_connections);
}

forEachProtocol(() => {
  describe("connection pool", () => {
    it("one connection while it keeps up; a second when it is half full; requests spread, answers right", async () => {
      const mc = new Client({
        protocol: current.protocol,
        servers: [server.label],
        pool: { min: 1, max: 2 },
        maxInFlight: 64,
        timeout: 5000,
      });
      try {
        await mc.set("p", "v");
        assert.equal(mc.health().servers[0]?.pool.active, 1);
        const keys = Array.from({ length: 2000 }, (_, i) => `pool:${i}`);
        assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
        const got = await Promise.all(keys.map((k) => mc.get(k)));
        for (const [i, v] of got.entries()) assert.equal(v, keys[i]);
        assert.equal(mc.health().servers[0]?.pool.active, 2, "grew to max under load");
      } finally {
        await mc.close();
      }
    });

    it("min connections from the start; connections above min that stay idle are closed", async () => {
      const base = await serverConnections();
      const mc = new Client({
        protocol: current.protocol,
        servers: [server.label],
        pool: { min: 1, max: 3, idleTimeoutMillis: 200 },
        maxInFlight: 16,
        timeout: 5000,
      });
      try {
        await mc.ping();
        await Promise.all(Array.from({ length: 500 }, (_, i) => mc.set(`idle:${i}`, i)));
        const grown = mc.health().servers[0]!.pool.active;
        assert.ok(grown > 1, `grew to ${grown}`);
        const deadline = performance.now() + 5000;
        while (mc.health().servers[0]!.pool.size > 1 && performance.now() < deadline) await sleep(50);
        assert.equal(mc.health().servers[0]?.pool.active, 1, "back to min");
        assert.equal(mc.health().servers[0]?.pool.size, 1, "the idle ones were evicted");
        // The server counts a closed socket a moment later; `base` may still count an earlier test's
        // socket that was closing: at most base + 1 once ours are closed (base + 3 if they were not).
        const closedBy = performance.now() + 2000;
        while ((await serverConnections()) > base + 1 && performance.now() < closedBy) await sleep(20);
        assert.ok((await serverConnections()) <= base + 1, "their sockets are closed");
        assert.equal(await mc.get("idle:7"), 7, "the one left still serves");
      } finally {
        await mc.close();
      }
    });

    it("the version handshake: a peer that is not memcached fails fast with a typed error", async () => {
      const sockets = new Set<Socket>();
      const impostor: Server = createServer((s) => {
        sockets.add(s);
        s.on("error", () => {});
        s.on("data", () => s.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
      });
      await new Promise<void>((r) => impostor.listen(0, "127.0.0.1", r));
      const a = impostor.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      const mc = new Client({
        protocol: current.protocol,
        servers: [`127.0.0.1:${port}`],
        timeout: 2000,
        retries: { attempts: 0 },
      });
      try {
        const err = await mc.get("x").then(
          () => assert.fail("should reject"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ConnectionError, String(err));
        assert.ok(err.cause instanceof ProtocolError);
      } finally {
        await mc.close();
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => impostor.close(() => r()));
      }
    });
  });
});

describe("connection pool: the kept first connection, and generic-pool for the rest", () => {
  it("a client over many servers starts nothing per server until one is used: one connection object each, no generic-pool or timer", async () => {
    // generic-pool starts an (unref'd) eviction timer per pool it leases from: count the timers started.
    const realSetTimeout = globalThis.setTimeout;
    let started = 0;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      started++;
      return realSetTimeout(...args);
    }) as typeof setTimeout;
    // Nothing listens on port 1: no call is made, so nothing connects.
    const servers = Array.from(
      { length: 200 },
      (_, i) => `127.0.${40 + Math.floor(i / 250)}.${(i % 250) + 1}:1`,
    );
    let mc: Client | undefined;
    try {
      mc = new Client({ servers, pool: { min: 1, max: 2 } });
      await new Promise((r) => setImmediate(r)); // what the constructor deferred has run
      await new Promise((r) => setImmediate(r));
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    try {
      assert.ok(started < 5, `${started} timers started by a client over 200 servers that nobody used`);
      for (const s of mc.health().servers) assert.deepEqual(s.pool, { active: 1, size: 1, available: 0 });
    } finally {
      await mc.close();
    }
  });

  it("pool.min 0: the one connection closes once idle, and the next request opens another", async () => {
    const base = await serverConnections();
    const mc = new Client({
      servers: [server.label],
      pool: { min: 0, max: 2, idleTimeoutMillis: 200 },
      timeout: 5000,
    });
    try {
      await mc.set("min0", "v");
      const deadline = performance.now() + 5000;
      while (mc.health().servers[0]!.pool.size > 0 && performance.now() < deadline) await sleep(50);
      assert.deepEqual(mc.health().servers[0]?.pool, { active: 0, size: 0, available: 0 }, "none kept");
      const closedBy = performance.now() + 2000;
      while ((await serverConnections()) > base + 1 && performance.now() < closedBy) await sleep(20);
      assert.ok((await serverConnections()) <= base + 1, "its socket is closed");
      assert.equal(await mc.get("min0"), "v", "a new connection serves the next request");
      assert.equal(mc.health().servers[0]?.pool.active, 1);
    } finally {
      await mc.close();
    }
  });

  it("after close(), the pool's figures say nothing is held, idle connections included", async () => {
    const mc = new Client({
      servers: [server.label],
      pool: { min: 1, max: 3, idleTimeoutMillis: 400 },
      maxInFlight: 2,
      timeout: 2000,
    });
    const pool = () => mc.health().servers[0]!.pool;
    try {
      for (let round = 0; round < 20 && pool().active < 3; round++)
        await Promise.all(Array.from({ length: 64 }, (_, i) => mc.get(`closed-stats:${i}`)));
      assert.equal(pool().active, 3, "grew to max under load");
      const deadline = performance.now() + 5000;
      while (pool().available === 0 && performance.now() < deadline) await sleep(20);
      assert.ok(pool().available > 0, "some wait idle in generic-pool");
    } finally {
      await mc.close();
    }
    assert.deepEqual(pool(), { active: 0, size: 0, available: 0 });
  });

  it("close() waits for a request still under way on a connection that a recycle replaced", async () => {
    // Recycle happens when a server's host name resolves to new addresses: reach the pool directly.
    const pools = new Set<ServerPool>();
    const send = ServerPool.prototype.send;
    ServerPool.prototype.send = function (this: ServerPool, attempt) {
      pools.add(this);
      send.call(this, attempt);
    };
    const paused = await startMemcached();
    const mc = new Client({
      servers: [paused.label],
      pool: { min: 1, max: 1 },
      timeout: 1000,
      retries: { attempts: 0 },
    });
    try {
      await mc.set("under-way", "v");
      await paused.pause(); // the get is written and never answered
      let settled = false;
      const call = mc.get("under-way").then(
        () => (settled = true),
        () => (settled = true),
      );
      await sleep(50);
      for (const pool of pools) pool.recycle();
      await mc.close();
      assert.ok(settled, "the request settled before close() resolved");
      await call;
    } finally {
      ServerPool.prototype.send = send;
      paused.resume();
      await mc.close();
      await paused.kill();
    }
  });
});
