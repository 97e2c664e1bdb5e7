/**
 * memcachio behind a real twemproxy (nutcracker, `hash: md5`, `distribution: ketama`) in front of
 * three real memcached servers, beyond the commands suite (`commands.test.ts` runs every command
 * through it): where keys land, pipelining through the proxy, counters created concurrently, and a
 * backend that dies behind the proxy.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, HashRing, ServerError } from "../../src/index.ts";
import { rawLine } from "../support/raw.ts";
import { suiteServers } from "../support/suite-servers.ts";
import { startTwemproxy, type Twemproxy } from "../support/twemproxy.ts";

const backends = suiteServers(3);
let proxy: Twemproxy;
const clients: Client[] = [];

function client(label = proxy.label): Client {
  const c = new Client({ servers: [label], proxy: "twemproxy", timeout: 2000 });
  clients.push(c);
  return c;
}

before(async () => {
  proxy = await startTwemproxy(backends);
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await proxy.stop();
});

describe("behind twemproxy", () => {
  it("HashRing places keys as twemproxy's ketama/md5 does: each key is on the backend serverFor names, only there", async () => {
    const mc = client();
    const ring = new HashRing(backends.map((b) => b.label));
    const keys = Array.from({ length: 300 }, (_, i) => `placed:${i}:${process.pid}`);
    assert.deepEqual(
      await mc.setMany(keys.map((k) => [k, k])),
      keys.map(() => true),
    );
    const perBackend = new Map<string, number>();
    for (const k of keys) {
      const owner = ring.serverFor(k);
      perBackend.set(owner, (perBackend.get(owner) ?? 0) + 1);
      for (const b of backends) {
        const reply = await rawLine(b.label, `mg ${k} v`);
        if (b.label === owner) assert.match(reply, /^VA /, `${k} on its owner ${owner}`);
        else assert.match(reply, /^EN/, `${k} not on ${b.label}`);
      }
    }
    assert.equal(perBackend.size, 3, "keys spread over every backend");
  });

  it("pipelined through the proxy: many requests in flight, every answer the right one", async () => {
    const mc = client();
    const keys = Array.from({ length: 400 }, (_, i) => `piped:${i}`);
    await Promise.all(keys.map((k, i) => mc.set(k, { i, k })));
    const [singles, many] = await Promise.all([
      Promise.all(keys.map((k) => mc.get(k))),
      mc.getMany([...keys, "piped:missing"]),
    ]);
    keys.forEach((k, i) => {
      assert.deepEqual(singles[i], { i, k });
      assert.deepEqual(many.get(k), { i, k });
    });
    assert.equal(many.size, keys.length);
  });

  it("incr with initial from many clients at once: one creates, every other counts on it (direct and through the proxy)", async () => {
    for (const label of [backends[0]!.label, proxy.label]) {
      const racers = Array.from({ length: 12 }, () => client(label));
      const k = `race:${label}:${process.pid}`;
      const got = await Promise.all(racers.map((c) => c.incr(k, 1n, { initial: 0n, ttl: 60 })));
      assert.deepEqual(
        got.map(Number).sort((a, b) => a - b),
        Array.from({ length: 12 }, (_, i) => i),
        `${label}: 0 once (the creator), then 1…11`,
      );
      assert.equal(await racers[0]!.get(k), "11");
    }
  });

  it("whichever backend twemproxy forwards `version` to is down, new connections and pings still work", async () => {
    const ring = new HashRing(backends.map((b) => b.label));
    for (const victim of backends) {
      await victim.kill();
      try {
        const mc = client();
        await mc.ping();
        const alive = Array.from({ length: 30 }, (_, i) => `v:${i}`).filter(
          (k) => ring.serverFor(k) !== victim.label,
        );
        for (const k of alive) assert.equal(await mc.set(k, k), true, `${k} with ${victim.label} down`);
        const got = await mc.getMany(alive);
        assert.deepEqual(
          new Map([...got].sort()),
          new Map(alive.map((k): [string, unknown] => [k, k]).sort()),
        );
      } finally {
        await victim.start(victim.port);
      }
    }
  });

  it("a backend that dies behind the proxy: its keys fail with the proxy's ServerError, the others keep working", async () => {
    const mc = client();
    const ring = new HashRing(backends.map((b) => b.label));
    const victim = backends[2]!;
    const keys = Array.from({ length: 60 }, (_, i) => `dies:${i}`);
    await mc.setMany(keys.map((k) => [k, k]));
    await victim.kill();
    try {
      for (const k of keys) {
        if (ring.serverFor(k) === victim.label) {
          // twemproxy answers for the dead backend at once: not a timeout of ours.
          await assert.rejects(
            mc.get(k),
            (e) => e instanceof ServerError && /Connection refused/.test(e.message),
            k,
          );
        } else assert.equal(await mc.get(k), k, `${k} lives elsewhere`);
      }
    } finally {
      await victim.start(victim.port);
    }
  });
});
