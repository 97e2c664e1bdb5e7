/**
 * Zones on real memcached: three zones of two servers each, a client in zone a. A key's replicas sit
 * one per zone, reads are served in zone a, and with zone a gone every read is served elsewhere.
 */
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, describe, it } from "node:test";
import { CHANNELS, Client, type CommandContext, HashRing } from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";

const ZONES = ["a", "a", "b", "b", "c", "c"];
let servers: MemcachedServer[] = [];
let entries: string[] = [];
const clients: Client[] = [];

before(async () => {
  servers = await Promise.all(ZONES.map(() => startMemcached()));
  entries = servers.map((s, i) => `${s.label}@${ZONES[i]}`);
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.kill()));
});

function client(replicas: number): Client {
  const c = new Client({ servers: entries, replicas, zone: "a", timeout: 500 });
  clients.push(c);
  return c;
}

/** One client per server, each to that server alone. */
function directs(): Client[] {
  const out = servers.map((s) => new Client({ servers: [s.label] }));
  clients.push(...out);
  return out;
}

/** `get` commands each server has served so far. */
async function getsServed(): Promise<number[]> {
  const c = new Client({ servers: servers.map((s) => s.label) });
  const stats = await c.stats();
  await c.close();
  return servers.map((s) => Number(stats[s.label]!.cmd_get));
}

describe("zones: 3 zones × 2 servers, the client in zone a", () => {
  it("replicas 3: one copy in each zone, and at least 99 % of reads served in zone a", async () => {
    const mc = client(3);
    const keys = Array.from({ length: 300 }, (_, i) => `zone:${i}`);
    assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
    const zoneOfLabel = new Map(servers.map((s, i) => [s.label, ZONES[i]!]));
    const ring = new HashRing(entries);
    for (const k of keys) {
      assert.deepEqual(
        ring
          .serversFor(k, 3)
          .map((l) => zoneOfLabel.get(l))
          .sort(),
        ["a", "b", "c"],
        k,
      );
      for (const [i, s] of servers.entries()) {
        const direct = new Client({ servers: [s.label] });
        clients.push(direct);
        if (ring.serversFor(k, 3).includes(s.label))
          assert.equal(await direct.get(k), k, `${k} on ${ZONES[i]}`);
      }
    }
    const before = await getsServed();
    const contexts: CommandContext[] = [];
    const onStart = (m: unknown) => contexts.push(m as CommandContext);
    subscribe(`tracing:${CHANNELS.command}:start`, onStart);
    try {
      for (let round = 0; round < 3; round++) {
        for (const k of keys) assert.equal(await mc.get(k), k);
        const got = await mc.getMany(keys.slice(0, 50));
        assert.equal(got.size, 50);
      }
    } finally {
      unsubscribe(`tracing:${CHANNELS.command}:start`, onStart);
    }
    const served = (await getsServed()).map((n, i) => n - before[i]!);
    const inA = served.filter((_, i) => ZONES[i] === "a").reduce((x, y) => x + y, 0);
    const all = served.reduce((x, y) => x + y, 0);
    assert.ok(inA / all >= 0.99, `served in zone a: ${inA} of ${all}`);
    assert.ok(
      contexts.length > 0 && contexts.every((c) => c.zone === "a"),
      "the command context names the zone",
    );
    assert.deepEqual(
      mc.health().servers.map((s) => s.zone),
      ZONES,
    );
  });

  it("zone a killed entirely: every read is still served from another zone, within the deadline", async () => {
    const mc = client(3);
    const keys = Array.from({ length: 200 }, (_, i) => `zone-kill:${i}`);
    assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
    const zoneA = servers.filter((_, i) => ZONES[i] === "a");
    await Promise.all(zoneA.map((s) => s.kill()));
    try {
      let worst = 0;
      for (let round = 0; round < 2; round++) {
        for (const k of keys) {
          const t0 = performance.now();
          assert.equal(await mc.get(k), k);
          worst = Math.max(worst, performance.now() - t0);
        }
      }
      assert.ok(worst < 500 + 300, `worst read ${worst.toFixed(0)} ms against a 500 ms deadline`);
    } finally {
      await Promise.all(zoneA.map((s) => s.start(s.port)));
    }
  });

  it("replicas 2 over 3 zones: a key's two copies are never in one zone; zoneOf names the zones of entries without one", async () => {
    const byPort = new Map(servers.map((s, i) => [s.port, ZONES[i]!]));
    const mc = new Client({
      servers: servers.map((s) => s.label),
      replicas: 2,
      zone: "b",
      zoneOf: ({ port }) => byPort.get(port),
    });
    clients.push(mc);
    assert.deepEqual(
      mc.health().servers.map((s) => s.zone),
      ZONES,
    );
    const keys = Array.from({ length: 100 }, (_, i) => `zone-two:${i}`);
    assert.ok((await mc.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
    const each = directs();
    for (const k of keys) {
      const holders: string[] = [];
      for (const [i, direct] of each.entries()) if ((await direct.get(k)) === k) holders.push(ZONES[i]!);
      assert.equal(holders.length, 2, k);
      assert.notEqual(holders[0], holders[1], k);
    }
  });
});
