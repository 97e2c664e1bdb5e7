/**
 * Warm-up after scale-out against real memcached: the hit ratio right after a fourth server joins,
 * with and without warm-up; copies keep their remaining TTL; a key deleted or rewritten after the
 * change never comes back from its previous owner.
 */
import assert from "node:assert/strict";
import { afterEach, before, describe, it } from "node:test";
import { Client, type ClientOptions } from "../../src/index.ts";
import type { MemcachedServer } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";
import { movedKeys, suiteServers } from "../support/suite-servers.ts";
import { remainingTtl } from "../support/raw.ts";

let servers: MemcachedServer[] = [];
const clients: Client[] = [];
const KEYS = Array.from({ length: 2000 }, (_, i) => `hot:${i}`);

function client(o: Partial<ClientOptions>): Client {
  const c = new Client({ protocol: current.protocol, timeout: 1000, ...o });
  clients.push(c);
  return c;
}

/** Fills three servers, adds the fourth, reads every key once: the share of hits. */
async function scaleOut(warmUp: ClientOptions["warmUp"]): Promise<{ c: Client; hitRatio: number }> {
  const labels = servers.map((s) => s.label);
  for (const l of labels) await client({ servers: [l] }).flush();
  const c = client({ servers: labels.slice(0, 3), ...(warmUp === undefined ? {} : { warmUp }) });
  await c.setMany(
    KEYS.map((k) => [k, { k }]),
    { ttl: 300 },
  );
  await c.addServer(labels[3]!);
  let hits = 0;
  for (const k of KEYS) if ((await c.get(k)) !== undefined) hits++;
  return { c, hitRatio: hits / KEYS.length };
}

forEachProtocol((protocol) => {
  describe("warm-up", () => {
    const mine = suiteServers(4);
    before(() => {
      servers = mine;
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close()));
    });

    it("keeps the hit ratio after a fourth server joins, and copies the hits over", async (t) => {
      const cold = await scaleOut(undefined);
      const warm = await scaleOut({ window: 10_000 });
      t.diagnostic(
        `${protocol}: hit ratio right after adding a 4th server: ${cold.hitRatio} without warm-up, ${warm.hitRatio} with`,
      );
      const labels = servers.map((s) => s.label);
      const share = movedKeys(labels.slice(0, 3), labels, KEYS).length / KEYS.length;
      assert.ok(
        Math.abs(1 - cold.hitRatio - share) < 0.01,
        `without warm-up the moved share misses (${cold.hitRatio}, moved ${share})`,
      );
      assert.ok(warm.hitRatio > 0.99, `with warm-up ${warm.hitRatio}`);
      assert.ok(warm.c.health().topology.warmUpHits > 0);
      // The copies are on the new server now, with the TTL they had (meta tells it; binary uses copyTtl).
      const onNew = await client({ servers: [servers[3]!.label] }).getMany(KEYS);
      // All but the few read before the previous owners' pending writes were known to have landed.
      const moved = Math.round(share * KEYS.length);
      assert.ok(onNew.size <= moved && onNew.size >= moved - 10, `${onNew.size} of ${moved} copied`);
      const sample = [...onNew.keys()][0]!;
      const ttl = await remainingTtl(servers[3]!.label, sample);
      if (protocol === "meta") assert.ok(ttl > 250 && ttl <= 300, `copy TTL ${ttl}`);
      else assert.ok(ttl > 0 && ttl <= 60, `copy TTL ${ttl}`);
    });

    it("a key deleted or rewritten after the change never comes back from its previous owner", async () => {
      const labels = servers.map((s) => s.label);
      for (const l of labels) await client({ servers: [l] }).flush();
      const c = client({ servers: labels.slice(0, 3), warmUp: { window: 10_000 } });
      const moved = movedKeys(labels.slice(0, 3), labels, KEYS).slice(0, 40);
      for (const k of moved) await c.set(k, "old");
      await c.addServer(labels[3]!);
      const [deleted, rewritten] = [moved.slice(0, 20), moved.slice(20)];
      for (const k of deleted) await c.delete(k);
      for (const k of rewritten) await c.set(k, "new");
      for (const k of deleted) assert.equal(await c.get(k), undefined, k);
      for (const k of rewritten) assert.equal(await c.get(k), "new", k);
    });

    it("does nothing once the window is over", async () => {
      const labels = servers.map((s) => s.label);
      for (const l of labels) await client({ servers: [l] }).flush();
      const c = client({ servers: labels.slice(0, 3), warmUp: { window: 1 } });
      await c.setMany(KEYS.slice(0, 200).map((k) => [k, k]));
      await c.addServer(labels[3]!);
      await new Promise((r) => setTimeout(r, 20));
      for (const k of KEYS.slice(0, 200)) await c.get(k);
      assert.equal(c.health().topology.warmUpHits, 0);
    });
  });
});
