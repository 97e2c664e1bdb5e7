/**
 * Hedged reads against real memcached: two replicas, one behind the fault proxy whose replies are
 * slow. The fast replica's value comes back; the slow reply is dropped without desynchronising its
 * connection; the budget holds under sustained slowness; writes and replicas 1 are never hedged.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { after, afterEach, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { CHANNELS, Client, type ClientOptions, type CommandContext, HashRing } from "../../src/index.ts";
import { collectMetrics } from "../../src/prometheus.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { FaultProxy } from "../support/proxy.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let fast: MemcachedServer;
let slowServer: MemcachedServer;
let slow: FaultProxy;
const clients: Client[] = [];

function client(o: Partial<ClientOptions>): Client {
  const c = new Client({
    protocol: current.protocol,
    servers: [slow.label, fast.label],
    replicas: 2,
    timeout: 2000,
    ...o,
  });
  clients.push(c);
  return c;
}

/** Keys whose first replica (the one read first) is the slow server. */
function slowKeys(n: number): string[] {
  const ring = new HashRing([slow.label, fast.label]);
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (ring.serverFor(`h${i}`) === slow.label) out.push(`h${i}`);
  return out;
}

forEachProtocol(() => {
  describe("hedged reads", () => {
    before(async () => {
      fast = await startMemcached();
      slowServer = await startMemcached();
      slow = await new FaultProxy(slowServer.host, slowServer.port).start();
    });
    after(async () => {
      await slow.stop();
      await Promise.all([fast.kill(), slowServer.kill()]);
    });
    afterEach(async () => {
      slow.mode = "pass";
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it("a read slower than `after` is answered by the other replica, and the slow reply is dropped in its slot", async () => {
      const c = client({ hedge: { after: 20 } });
      const keys = slowKeys(5);
      for (const k of keys) assert.equal(await c.set(k, `v:${k}`), true);
      slow.mode = "delay";
      slow.delayMs = 300;
      for (const k of keys) assert.equal(await c.get(k), `v:${k}`);
      const h = c.health();
      assert.equal(h.hedges.sent, keys.length);
      assert.equal(h.hedges.won, keys.length);
      const registry = new Registry();
      const metrics = collectMetrics(c, { registry });
      const text = await registry.metrics();
      metrics.stop();
      assert.match(
        text,
        new RegExp(`memcachio_hedges_total\\{result="won",client="default"\\} ${keys.length}`),
      );
      assert.ok(
        h.servers.every((s) => s.state === "up" && s.failures === 0),
        "a lost race is not a failure",
      );
      // The slow replies arrive later and are dropped; the connection still pairs replies right.
      slow.mode = "pass";
      await new Promise((r) => setTimeout(r, 400));
      const direct = new Client({ protocol: current.protocol, servers: [slow.label], timeout: 2000 });
      clients.push(direct);
      for (const k of keys) assert.equal(await direct.get(k), `v:${k}`);
      for (const k of keys) assert.equal(await c.get(k), `v:${k}`);
      assert.equal(c.health().hedges.sent, keys.length, "no hedge once the server is fast again");
    });

    it("getMany batches and get are hedged (not gets: its CAS is the owner's); a hedge's context says so, the loser's ends abandoned", async () => {
      const c = client({ hedge: { after: 20 } });
      const keys = slowKeys(20);
      await c.setMany(keys.map((k) => [k, k]));
      const hedges: CommandContext[] = [];
      const ended: CommandContext[] = [];
      const onStart = (ctx: unknown) => {
        if ((ctx as CommandContext).hedge === true) hedges.push(ctx as CommandContext);
      };
      const onEnd = (ctx: unknown) => ended.push(ctx as CommandContext);
      diagnostics.subscribe(`tracing:${CHANNELS.command}:start`, onStart);
      diagnostics.subscribe(`tracing:${CHANNELS.command}:asyncEnd`, onEnd);
      try {
        slow.mode = "delay";
        slow.delayMs = 300;
        const got = await c.getMany(keys);
        assert.equal(got.size, keys.length);
        assert.equal(await c.get(keys[0]!), keys[0]);
        assert.equal((await c.gets(keys[1]!))?.value, keys[1], "gets waits for the owner");
      } finally {
        diagnostics.unsubscribe(`tracing:${CHANNELS.command}:start`, onStart);
        diagnostics.unsubscribe(`tracing:${CHANNELS.command}:asyncEnd`, onEnd);
      }
      assert.deepEqual(
        hedges.map((h) => [h.command, h.server]),
        [
          ["getMany", fast.label],
          ["get", fast.label],
        ],
      );
      // The slow originals lost the race: abandoned, not failed (a tracer must not mark them errors).
      const reads = ended.filter((e) => e.command === "getMany" || e.command === "get");
      assert.deepEqual(
        reads.map((e) => [e.command, e.server, e.abandoned === true, e.error === undefined]),
        [
          ["getMany", fast.label, false, true],
          ["getMany", slow.label, true, true],
          ["get", fast.label, false, true],
          ["get", slow.label, true, true],
        ],
      );
    });

    it("a getMany share is hedged only to a server that is the next replica of all its keys", async () => {
      const third = await startMemcached();
      try {
        const list = [slow.label, fast.label, third.label];
        const c = client({ servers: list, hedge: { after: 20 } });
        const ring = new HashRing(list);
        const keys = Array.from({ length: 400 }, (_, i) => `g${i}`).filter(
          (k) => ring.serverFor(k) === slow.label,
        );
        await c.setMany(keys.map((k) => [k, k]));
        slow.mode = "delay";
        slow.delayMs = 200;
        const got = await c.getMany(keys);
        assert.deepEqual(
          keys.filter((k) => got.get(k) !== k),
          [],
        );
        // Its keys' next replicas are two servers: no hedge could answer for all of them.
        assert.equal(c.health().hedges.sent, 0);
        const firstKeys = keys.filter((k) => ring.serversFor(k, 2)[1] === fast.label);
        const some = await c.getMany(firstKeys);
        assert.equal(some.size, firstKeys.length);
        assert.equal(c.health().hedges.won, 1);
      } finally {
        await third.kill();
      }
    });

    it("keeps hedges under maxExtraLoad when a replica stays slow", async () => {
      const c = client({ hedge: { after: 5, maxExtraLoad: 0.1 } });
      const keys = slowKeys(50);
      await c.setMany(keys.map((k) => [k, k]));
      slow.mode = "delay";
      slow.delayMs = 60;
      const reads = 400;
      for (let i = 0; i < reads; i += 50) await Promise.all(keys.map((k) => c.get(k)));
      const h = c.health().hedges;
      // One hedge per ten reads, plus the reserve (one a second over the 10 s window).
      assert.ok(h.sent <= reads * 0.1 + 11, `sent ${h.sent} hedges for ${reads} reads`);
      assert.ok(h.sent >= reads * 0.1 - 5, `the budget was used: ${h.sent}`);
      assert.ok(h.budgetExhausted > 0);
    });

    it("never hedges writes, nor with one copy per key", async () => {
      const c = client({ hedge: { after: 5 } });
      const keys = slowKeys(10);
      slow.mode = "delay";
      slow.delayMs = 60;
      for (const k of keys) await c.set(k, 1);
      await c.deleteMany(keys);
      assert.equal(c.health().hedges.sent, 0);
      const single = client({ hedge: { after: 5 }, replicas: 1 });
      for (const k of keys) await single.get(k);
      assert.equal(single.health().hedges.sent, 0);
    });

    it('after: "p95" hedges once a server is slower than its own recent reads', async () => {
      const c = client({ hedge: { after: "p95", maxExtraLoad: 1 } });
      const keys = slowKeys(10);
      await c.setMany(keys.map((k) => [k, k]));
      for (let i = 0; i < 20; i++) for (const k of keys) await c.get(k); // 200 fast samples
      const before = c.health().hedges;
      slow.mode = "delay";
      slow.delayMs = 100;
      for (const k of keys) assert.equal(await c.get(k), k);
      const h = c.health().hedges;
      assert.ok(h.won - before.won >= keys.length - 1, JSON.stringify(h));
    });

    it("rejects a bad hedge option with a clear error", () => {
      assert.throws(() => client({ hedge: { after: -1 } }), /hedge.after/);
      assert.throws(() => client({ hedge: { after: "p99" as "p95" } }), /hedge.after/);
      assert.throws(() => client({ hedge: { after: 5, maxExtraLoad: 2 } }), /maxExtraLoad/);
    });
  });
});
