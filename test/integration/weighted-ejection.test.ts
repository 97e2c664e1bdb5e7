/**
 * Weighted servers with one of them down (#31): a key whose home is up is never served from, or
 * written to, another server because a *different* server went down. Servers A (weight 1), B
 * (weight 3), C (weight 1); a key whose home is B but which libmemcached's ring of A and B alone
 * gives to A. C goes away (killed, paused, or taken off the list) and comes back: the key must read
 * the last acknowledged value or miss, never the older one B held.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Client, type ClientOptions, HashRing } from "../../src/index.ts";
import { type MemcachedServer, startMemcached, waitFor } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let servers: MemcachedServer[] = [];
const clients: Client[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

/** A (1), B (3), C (1) as server specs. */
function weighted(): { host: string; port: number; weight: number }[] {
  return servers.map((s, i) => ({ host: s.host, port: s.port, weight: i === 1 ? 3 : 1 }));
}

function client(o: Partial<ClientOptions> = {}): Client {
  const c = new Client({
    protocol: current.protocol,
    servers: weighted(),
    timeout: 500,
    failover: { failureThreshold: 1, retryDelay: 100, maxRetryDelay: 100 },
    ...o,
  });
  clients.push(c);
  return c;
}

/** Keys homed on B whose owner on a rebuilt ring of A and B alone is A: the ones a rebuild moves. */
function keysMovedByRebuild(prefix: string): string[] {
  const all = new HashRing(weighted());
  const [a, b] = weighted();
  const rebuilt = new HashRing([a!, b!]);
  const bLabel = `${b!.host}:${b!.port}`;
  const aLabel = `${a!.host}:${a!.port}`;
  const keys = Array.from({ length: 2000 }, (_, i) => `${prefix}:${current.protocol}:${i}`).filter(
    (k) => all.serverFor(k) === bLabel && rebuilt.serverFor(k) === aLabel,
  );
  assert.ok(keys.length > 0, "the weights move some of B's keys when C leaves a rebuilt ring");
  return keys.slice(0, 20);
}

function stateOf(mc: Client, label: string): string {
  return mc.health().servers.find((x) => x.label === label)!.state;
}

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  servers = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
});
afterEach(async () => {
  for (const s of servers) s.resume();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, [], "no unhandled rejection in this file");
});

/** Writes v1, takes C away with `leave`, writes v2, brings C back with `back`: reads give v2 or miss. */
async function scenario(
  prefix: string,
  leave: (mc: Client) => Promise<void>,
  back: (mc: Client) => Promise<void>,
  o: Partial<ClientOptions> = {},
  homeKeepsKeys = true,
): Promise<void> {
  const mc = client(o);
  const keys = keysMovedByRebuild(prefix);
  for (const k of keys) assert.equal(await mc.set(k, "v1"), true);
  await leave(mc);
  for (const k of keys) assert.equal(await mc.set(k, "v2"), true, "acknowledged while C is away");
  for (const k of keys) assert.notEqual(await mc.get(k), "v1", "while C is away: never the older value");
  await back(mc);
  for (const k of keys) assert.notEqual(await mc.get(k), "v1", "after C is back: never the older value");
  if (!homeKeepsKeys) return;
  // The key's home answered for it while C was away: it holds the last write, not a copy elsewhere.
  const home = new Client({ protocol: current.protocol, servers: [servers[1]!.label], timeout: 1000 });
  clients.push(home);
  for (const k of keys) assert.equal(await home.get(k), "v2", "the write went to the key's home, B");
}

forEachProtocol(() => {
  describe("weighted servers, one of them away (#31)", () => {
    for (const replicas of [1, 2]) {
      it(`C killed and restarted: never the value written before (replicas ${replicas})`, async () => {
        const c = servers[2]!;
        try {
          await scenario(
            `wk${replicas}`,
            async (mc) => {
              await c.kill();
              await mc.get(`wk-probe`).catch(() => undefined);
              await Promise.all(
                Array.from({ length: 50 }, (_, i) => mc.get(`wk-touch-${i}`).catch(() => undefined)),
              );
              await waitFor(() => stateOf(mc, c.label) !== "up", 3000);
            },
            async (mc) => {
              await c.restart();
              await waitFor(() => stateOf(mc, c.label) === "up", 5000);
            },
            { replicas },
          );
        } finally {
          if (c.pid === undefined) await c.start(c.port);
        }
      });
    }

    it("C paused and resumed: never the value written before", async () => {
      const c = servers[2]!;
      try {
        await scenario(
          "wp",
          async (mc) => {
            await c.pause();
            await Promise.all(
              Array.from({ length: 50 }, (_, i) => mc.get(`wp-touch-${i}`).catch(() => undefined)),
            );
            await waitFor(() => stateOf(mc, c.label) !== "up", 3000);
          },
          async (mc) => {
            c.resume();
            await waitFor(() => stateOf(mc, c.label) === "up", 5000);
          },
          { timeout: 200 },
        );
      } finally {
        c.resume();
      }
    });

    it("C taken off the list and put back: never the value written before", async () => {
      const all = weighted();
      await scenario(
        "wl",
        async (mc) => {
          await mc.setServers([all[0]!, all[1]!]);
        },
        async (mc) => {
          await mc.setServers(all);
        },
        {},
        false, // a new list is a new home ring: the key's home there is A, as libmemcached places it
      );
    });
  });
});
