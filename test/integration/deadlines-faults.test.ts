import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import {
  AbortError,
  Client,
  type ClientOptions,
  ConnectionError,
  ProtocolError,
  QueueFullError,
  SocketTimeoutError,
  TimeoutError,
} from "../../src/index.ts";
import { LoopStalls } from "../support/loop-stalls.ts";
import { type MemcachedServer, sleep, startMemcached } from "../support/memcached.ts";
import { FaultProxy } from "../support/proxy.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

/** Deadlines are checked with this much slack: the ticker's resolution plus a loaded CI machine. */
const MARGIN = 400;

let server: MemcachedServer;
let proxy: FaultProxy;
let direct: Client;
const clients: Client[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

/** Retries off: these tests look at what a connection failure does to the requests on it. */
function client(o: Partial<ClientOptions> = {}): Client {
  const c = new Client({
    protocol: current.protocol,
    servers: [proxy.label],
    timeout: 1000,
    retries: { attempts: 0 },
    ...o,
  });
  clients.push(c);
  return c;
}

/** Bytes that do not parse, in the protocol under test (a binary header with a bad magic byte). */
function garbage(): Buffer {
  if (current.protocol === "meta") return Buffer.from("VA nonsense\r\n");
  if (current.protocol === "text") return Buffer.from("VALUE nonsense\r\n");
  const b = Buffer.alloc(24);
  b[0] = 0x82;
  return b;
}

/**
 * A well-formed hit carrying the opaque of no request (`O____`, which the counter wraps before
 * reaching; 999999 in binary) and the value "value-x"; in text,
 * which has no opaque, the hit of a key no request asked for.
 */
function foreignReply(): Buffer {
  if (current.protocol === "meta") return Buffer.from("VA 7 f0 O____\r\nvalue-x\r\n");
  if (current.protocol === "text") return Buffer.from("VALUE foreign 0 7\r\nvalue-x\r\nEND\r\n");
  const h = Buffer.alloc(28);
  h[0] = 0x81; // response, opcode 0 (Get), status 0
  h[4] = 4; // extras: flags
  h.writeUInt32BE(4 + 7, 8);
  h.writeUInt32BE(999999, 12);
  return Buffer.concat([h, Buffer.from("value-x")]);
}

async function getStat(name: string): Promise<number> {
  return Number((await direct.stats())[server.label]?.[name]);
}

/** The event loop's stalls: a call late by no more than the stall around it missed no deadline. */
let stalls: LoopStalls;

before(async () => {
  stalls = new LoopStalls();
  process.on("unhandledRejection", onUnhandled);
  server = await startMemcached();
  proxy = await new FaultProxy(server.host, server.port).start();
  direct = new Client({ servers: [server.label], timeout: 2000 });
  await direct.set("a", "value-a");
  await direct.set("b", "value-b");
});
afterEach(async () => {
  proxy.mode = "pass";
  server.resume();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
after(async () => {
  stalls.stop();
  await direct.close();
  await proxy.stop();
  await server.kill();
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, [], "no unhandled rejection in this file");
});

forEachProtocol(() => {
  describe("deadlines", () => {
    it("a paused (SIGSTOPped) server: the request fails with TimeoutError at its deadline", async () => {
      const mc = new Client({ protocol: current.protocol, servers: [server.label], timeout: 200 });
      clients.push(mc);
      await mc.ping();
      await server.pause();
      const t0 = performance.now();
      await assert.rejects(mc.get("a"), (e) => e instanceof TimeoutError || e instanceof SocketTimeoutError);
      const took = performance.now() - t0;
      const stalled = stalls.during(t0, t0 + took);
      assert.ok(
        took >= 195 && took < 200 + MARGIN + stalled,
        `took ${took.toFixed(0)} ms, stalled ${stalled.toFixed(0)} ms`,
      );
      server.resume();
      assert.equal(await mc.get("a"), "value-a", "works again after resume");
    });

    it("a timed-out request keeps its slot: its late reply is dropped, never given to the next caller", async () => {
      const mc = client({ timeout: 100, socketTimeout: 10_000 });
      await mc.ping();
      proxy.mode = "delay";
      proxy.delayMs = 300;
      await assert.rejects(mc.get("a"), TimeoutError);
      proxy.mode = "pass";
      // The reply to the timed-out get("a") is still on its way and arrives before b's.
      assert.equal(await mc.get("b", { timeout: 2000 }), "value-b");
      assert.equal(await mc.get("a", { timeout: 2000 }), "value-a");
      assert.equal(mc.health().servers[0]?.inFlight, 0);
    });

    it("per-call timeout overrides the client's", async () => {
      const mc = client({ timeout: 5000, socketTimeout: 10_000 });
      await mc.ping();
      proxy.mode = "blackhole";
      const t0 = performance.now();
      await assert.rejects(mc.get("a", { timeout: 120 }), TimeoutError);
      const took = performance.now() - t0;
      const stalled = stalls.during(t0, t0 + took);
      assert.ok(
        took < 120 + MARGIN + stalled,
        `took ${took.toFixed(0)} ms, stalled ${stalled.toFixed(0)} ms`,
      );
    });

    it("a hung server is detected by socketTimeout: the connection is destroyed and its requests fail", async () => {
      const mc = client({ timeout: 5000, socketTimeout: 150 });
      await mc.ping();
      proxy.mode = "blackhole";
      const t0 = performance.now();
      const results = await Promise.allSettled([mc.get("a"), mc.get("b"), mc.set("c", 1)]);
      const took = performance.now() - t0;
      for (const r of results) {
        assert.equal(r.status, "rejected");
        assert.ok(r.reason instanceof SocketTimeoutError, String(r.reason));
        assert.ok(r.reason instanceof ConnectionError, "a SocketTimeoutError is a ConnectionError");
      }
      const stalled = stalls.during(t0, t0 + took);
      assert.ok(
        took < 150 + MARGIN + stalled,
        `took ${took.toFixed(0)} ms, stalled ${stalled.toFixed(0)} ms`,
      );
      proxy.mode = "pass";
      assert.equal(await mc.get("a"), "value-a", "a fresh connection serves again");
    });
  });

  describe("a server that dribbles bytes", () => {
    it("close() is bounded by the latest deadline, however long socketTimeout is (#16)", async () => {
      const mc = client({ timeout: 200, socketTimeout: 10_000 });
      await mc.ping();
      proxy.delayMs = 50;
      proxy.mode = "dribble"; // one byte every 50 ms: the reply takes over a second, never silent
      const got = mc.get("a").then(
        (v) => v,
        (e: unknown) => e,
      );
      await sleep(20);
      const t0 = performance.now();
      await mc.close();
      const took = performance.now() - t0;
      assert.ok((await got) instanceof TimeoutError, "the get met its deadline");
      const stalled = stalls.during(t0, t0 + took);
      assert.ok(
        took < 200 + MARGIN + stalled,
        `close() took ${took.toFixed(0)} ms, stalled ${stalled.toFixed(0)} ms`,
      );
    });

    it("counts as failing while every request times out, though bytes keep coming (#16)", async () => {
      const mc = client({
        timeout: 100,
        socketTimeout: 10_000,
        failover: { failureThreshold: 2, retryDelay: 60_000 },
      });
      await mc.ping({ timeout: 5000 }); // the connect and handshake are not what is measured
      proxy.delayMs = 20;
      proxy.mode = "dribble";
      for (let i = 0; i < 3; i++) await mc.get("a").catch(() => undefined);
      assert.equal(mc.health().servers[0]!.state, "down");
    });
  });

  describe("AbortSignal", () => {
    it("aborted before it is written: never sent", async () => {
      const mc = client();
      await mc.ping();
      const gets = await getStat("cmd_get");
      const ac = new AbortController();
      const p = mc.get("a", { signal: ac.signal });
      ac.abort(new Error("changed my mind"));
      await assert.rejects(
        p,
        (e) => e instanceof AbortError && (e.cause as Error).message === "changed my mind",
      );
      await mc.ping();
      assert.equal(await getStat("cmd_get"), gets, "the server saw no get");
      const pre = AbortSignal.abort();
      await assert.rejects(mc.get("a", { signal: pre }), AbortError);
    });

    it("aborted after it is written: rejects at once, its reply is dropped", async () => {
      const mc = client({ timeout: 5000, socketTimeout: 10_000 });
      await mc.ping();
      proxy.mode = "delay";
      proxy.delayMs = 300;
      const ac = new AbortController();
      const p = mc.get("a", { signal: ac.signal });
      await sleep(50);
      const t0 = performance.now();
      ac.abort();
      await assert.rejects(p, AbortError);
      assert.ok(performance.now() - t0 < 50);
      proxy.mode = "pass";
      assert.equal(await mc.get("b"), "value-b");
    });
  });

  describe("faults", () => {
    it("a malformed reply fails the connection's requests with ConnectionError (cause ProtocolError); the next request works", async () => {
      const mc = client();
      await mc.ping();
      proxy.mode = "corrupt";
      proxy.garbage = garbage();
      const err = await mc.get("a").then(
        () => assert.fail("should reject"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectionError, String(err));
      assert.ok(err.cause instanceof ProtocolError);
      assert.equal(await mc.get("a"), "value-a");
    });

    it("a reply with another request's opaque is a ProtocolError, never a wrong value", async () => {
      const mc = client();
      await mc.ping();
      proxy.mode = "corrupt";
      proxy.garbage = foreignReply();
      const err = await mc.get("a").then(
        () => assert.fail("should reject"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectionError && err.cause instanceof ProtocolError, String(err));
      assert.equal(await mc.get("a"), "value-a");
    });

    it("a reply cut mid-value fails with ConnectionError; the next request works", async () => {
      const mc = client();
      await direct.set("long", "z".repeat(5000));
      await mc.ping();
      proxy.mode = "cut";
      proxy.cutAfter = 100;
      await assert.rejects(mc.get("long"), ConnectionError);
      proxy.mode = "pass";
      assert.equal(await mc.get("long"), "z".repeat(5000));
    });

    it("connections reset by the peer fail fast and recover", async () => {
      const mc = client({ failover: { retryDelay: 20 } });
      await mc.ping();
      proxy.mode = "reset";
      proxy.dropAll();
      await assert.rejects(mc.get("a"), ConnectionError);
      proxy.mode = "pass";
      await sleep(100);
      assert.equal(await mc.get("a"), "value-a");
    });

    it("a killed server: requests fail with ConnectionError without waiting for the deadline; a restarted one is used again", async () => {
      const victim = await startMemcached();
      try {
        const mc = new Client({
          protocol: current.protocol,
          servers: [victim.label],
          timeout: 5000,
          failover: { retryDelay: 20, maxRetryDelay: 50 },
        });
        clients.push(mc);
        await mc.set("k", "before");
        await victim.kill();
        const t0 = performance.now();
        await assert.rejects(mc.get("k"), ConnectionError);
        await assert.rejects(mc.get("k"), ConnectionError);
        assert.ok(performance.now() - t0 < 1000, "well before the 5 s deadline");
        assert.equal(mc.health().servers[0]?.state, "down");
        await victim.restart();
        await sleep(100);
        assert.equal(await mc.get("k"), undefined, "restarted empty");
        assert.equal(await mc.set("k", "after"), true);
        assert.equal(mc.health().servers[0]?.state, "up");
      } finally {
        await victim.kill();
      }
    });

    it("with retries (the default), idempotent reads survive a malformed or cut reply on a fresh connection", async () => {
      const mc = client({ retries: { attempts: 2, baseDelay: 1, maxDelay: 5 } });
      await direct.set("long2", "y".repeat(5000));
      await mc.ping();
      proxy.mode = "corrupt";
      proxy.garbage = garbage();
      assert.equal(await mc.get("a"), "value-a", "retried after the protocol error");
      proxy.mode = "cut";
      proxy.cutAfter = 100;
      const got = await mc.get("long2");
      assert.equal(got, "y".repeat(5000), "retried after the cut");
    });

    it("a non-idempotent command is never sent again after a connection failure", async () => {
      const mc = client({ retries: { attempts: 2, baseDelay: 1, maxDelay: 5 } });
      await direct.set("ctr", "10");
      await mc.ping();
      proxy.mode = "corrupt";
      proxy.garbage = garbage();
      await assert.rejects(mc.incr("ctr", 1n), ConnectionError);
      // The incr reached the server once (the reply was what broke): it was not repeated.
      assert.equal(await direct.get("ctr"), "11");
    });

    it("past maxQueue, requests fail at once with QueueFullError", async () => {
      const mc = client({ maxInFlight: 4, maxQueue: 10, timeout: 2000, socketTimeout: 10_000 });
      await mc.ping();
      proxy.mode = "blackhole";
      const all = Array.from({ length: 20 }, () => mc.get("a"));
      await new Promise((r) => process.nextTick(r));
      const settled = await Promise.allSettled(all.slice(10));
      for (const s of settled) assert.ok(s.status === "rejected" && s.reason instanceof QueueFullError);
      proxy.mode = "pass";
      proxy.dropAll();
      await Promise.allSettled(all);
      assert.equal(await mc.get("a"), "value-a");
    });
  });
});
