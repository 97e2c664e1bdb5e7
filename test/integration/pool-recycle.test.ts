/**
 * A server named by a host name whose address changes (the node behind it replaced): every
 * connection the pool holds, leased or idle in generic-pool, must stop serving the old address. A
 * fake DNS server on loopback answers the name; the old and the new node are real memcached on two
 * loopback addresses, the old one still up with an older value, as a replaced node often is.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type ClientOptions } from "../../src/index.ts";
import { ServerPool } from "../../src/pool/server-pool.ts";
import { type DnsServer, startDnsServer } from "../support/dns-server.ts";
import { freePort, type MemcachedServer, startMemcached, waitFor } from "../support/memcached.ts";

const NAME = "cache.recycle.test";
let dns: DnsServer;
let oldNode: MemcachedServer;
let newNode: MemcachedServer;

before(async () => {
  dns = await startDnsServer();
  const port = await freePort();
  [oldNode, newNode] = await Promise.all([
    startMemcached({ host: "127.0.0.5", port }),
    startMemcached({ host: "127.0.0.6", port }),
  ]);
});
after(async () => {
  await Promise.all([oldNode, newNode].map((s) => s.kill()));
  await dns.close();
});

/** Sets `key` to `value` on one node only, through a client of its own. */
async function setOn(node: MemcachedServer, key: string, value: string): Promise<void> {
  const direct = new Client({ servers: [node.label], timeout: 1000 });
  try {
    assert.equal(await direct.set(key, value), true);
  } finally {
    await direct.close();
  }
}

/** `key` on one node only, through a client of its own. */
async function getOn(node: MemcachedServer, key: string): Promise<unknown> {
  const direct = new Client({ servers: [node.label], timeout: 1000 });
  try {
    return await direct.get(key);
  } finally {
    await direct.close();
  }
}

/** Connections `node` has open now. */
async function connectionsOf(node: MemcachedServer): Promise<number> {
  const direct = new Client({ servers: [node.label], timeout: 1000 });
  try {
    return Number((await direct.stats())[node.label]?.curr_connections) - 1;
  } finally {
    await direct.close();
  }
}

/** A client of the name, which answers the old node until a test moves it; DNS asked every `refresh` ms. */
function nameClient(refresh: number, o: Partial<ClientOptions>): Client {
  dns.set(NAME, { A: [oldNode.host] });
  return new Client({
    servers: [`${NAME}:${oldNode.port}`],
    dns: { servers: [dns.address], refreshInterval: refresh, timeout: 300 },
    ...o,
  });
}

/**
 * A client of the name (on the old node), whose pools are reached directly: the DNS check would
 * replace their connections in a later turn, `recycle()` does it now. `restore()` undoes the reach.
 */
function onTheName(o: Partial<ClientOptions>): { mc: Client; recycle: () => void; restore: () => void } {
  const pools = new Set<ServerPool>();
  const send = ServerPool.prototype.send;
  ServerPool.prototype.send = function (this: ServerPool, attempt) {
    pools.add(this);
    send.call(this, attempt);
  };
  const mc = nameClient(60_000, { timeout: 5000, ...o });
  return {
    mc,
    recycle: () => {
      for (const pool of pools) pool.recycle();
    },
    restore: () => {
      ServerPool.prototype.send = send;
    },
  };
}

describe("a host name that resolves to a new address", () => {
  it("a connection a recycle closed while generic-pool was handing it over is never used (generic-pool's check, then ours)", async () => {
    const { mc, recycle, restore } = onTheName({
      pool: { min: 1, max: 2 },
      maxInFlight: 2,
      retries: { attempts: 0 }, // a request sent to a closed connection would fail, not go again
    });
    try {
      await mc.get("handing-over");
      // The burst leases a second connection; the recycle in the same turn closes it on its way.
      const gets = Array.from({ length: 32 }, () => mc.get("handing-over"));
      recycle();
      const settled = await Promise.allSettled(gets);
      assert.deepEqual(
        settled
          .filter((r) => r.status === "rejected")
          .map((r) => String((r as PromiseRejectedResult).reason)),
        [],
      );
      const again = await Promise.allSettled(Array.from({ length: 32 }, () => mc.get("handing-over")));
      assert.ok(
        again.every((r) => r.status === "fulfilled"),
        "no request goes to a closed connection",
      );
    } finally {
      restore();
      await mc.close();
    }
  });

  it("a server that goes down has its name checked at once: a node replaced while one connection idled is left within seconds", async () => {
    // No refresh during the test: only the check made when the server goes down can move it.
    const mc = nameClient(60_000, {
      pool: { min: 1, max: 2, idleTimeoutMillis: 4000 },
      maxInFlight: 2,
      timeout: 300,
      failover: { failureThreshold: 1, retryDelay: 100, maxRetryDelay: 200 },
    });
    const pool = () => mc.health().servers[0]!.pool;
    await setOn(oldNode, "moved", "old");
    await setOn(newNode, "moved", "new");
    try {
      for (let round = 0; round < 20 && pool().active < 2; round++)
        await Promise.all(Array.from({ length: 64 }, () => mc.get("moved")));
      assert.equal(pool().active, 2, "grew to max under load");
      await Promise.all(Array.from({ length: 64 }, () => mc.get("moved"))); // both connect
      // The second goes idle into generic-pool, still connected: it holds the old address pinned.
      await waitFor(() => pool().available === 1, 6000);
      // The old node stops answering without closing anything; the name now says the new node.
      await oldNode.pause();
      dns.set(NAME, { A: [newNode.host] });
      await waitFor(async () => (await mc.get("moved").catch(() => undefined)) === "new", 3000);
    } finally {
      oldNode.resume();
      await mc.close();
    }
  });

  it("requests not yet written when the connections are replaced go to the new node, not the old", async () => {
    // Requests queued behind the one in flight (`maxInFlight` 1) when the connections are replaced.
    const { mc, recycle, restore } = onTheName({ pool: { min: 1, max: 1 }, maxInFlight: 1 });
    try {
      await mc.get("handed-over");
      dns.set(NAME, { A: [newNode.host] });
      const sets = Array.from({ length: 200 }, (_, i) => mc.set("handed-over", `v${i}`));
      recycle();
      assert.ok((await Promise.all(sets)).every(Boolean));
      const onOld = await getOn(oldNode, "handed-over");
      assert.ok(onOld === undefined || onOld === "v0", `the old node got a queued set: ${onOld}`);
      assert.equal(await getOn(newNode, "handed-over"), "v199", "the last set is on the new node");
      assert.equal(await mc.get("handed-over"), "v199");
    } finally {
      restore();
      await mc.close();
    }
  });

  it("every connection of a server reaches the address its first one reached, until the next check finds the name moved", async () => {
    // The first check comes after the part of the test that needs the old address.
    const mc = nameClient(4000, {
      pool: { min: 1, max: 3 },
      maxInFlight: 2,
      timeout: 2000,
    });
    const pool = () => mc.health().servers[0]!.pool;
    try {
      await setOn(oldNode, "split", "old");
      await setOn(newNode, "split", "new");
      assert.equal(await mc.get("split"), "old", "the first connection reaches the old node");
      // The name moves before the pool grows: its new connections must not reach the new node.
      dns.set(NAME, { A: [newNode.host] });
      const seen = new Set<unknown>();
      for (let round = 0; round < 5; round++)
        for (const v of await Promise.all(Array.from({ length: 64 }, () => mc.get("split")))) seen.add(v);
      assert.ok(pool().active > 1, "the pool grew");
      assert.deepEqual([...seen], ["old"], "reads of one server from two nodes");
      // The next check finds the old address gone from the answer: every connection moves.
      await waitFor(async () => (await mc.get("split")) === "new", 12_000); // a check whose query failed: the next
      seen.clear();
      for (let round = 0; round < 5; round++)
        for (const v of await Promise.all(Array.from({ length: 64 }, () => mc.get("split")))) seen.add(v);
      assert.deepEqual([...seen], ["new"]);
    } finally {
      await mc.close();
    }
  });

  it("no connection to the old address serves again, not even one idle in generic-pool; min are held again at once", async () => {
    const mc = nameClient(100, {
      // Two kept connections; a third under load, handed back to generic-pool once idle.
      pool: { min: 2, max: 3, idleTimeoutMillis: 2000 },
      maxInFlight: 2,
      timeout: 2000,
    });
    const pool = () => mc.health().servers[0]!.pool;
    try {
      await setOn(oldNode, "k", "old");
      await setOn(newNode, "k", "new");
      // Grow to max, use all three, then let the third go idle into generic-pool, still connected.
      const load = () => Promise.all(Array.from({ length: 64 }, () => mc.get("k")));
      for (let round = 0; round < 20 && pool().active < 3; round++)
        assert.ok((await load()).every((v) => v === "old"));
      assert.equal(pool().active, 3, "grew to max under load");
      assert.ok((await load()).every((v) => v === "old"));
      // (At least: a probe client's own socket may still be closing.)
      assert.ok((await connectionsOf(oldNode)) >= 3, "three sockets to the old node");
      await waitFor(() => pool().active === 2, 6000);
      assert.equal(pool().available, 1, "the third waits idle in generic-pool");
      assert.ok((await connectionsOf(oldNode)) >= 3, "its socket still open");

      dns.set(NAME, { A: [newNode.host] });
      await waitFor(async () => (await mc.get("k")) === "new", 5000);
      await waitFor(() => pool().active === 2, 2000); // min, before any load asks for more

      // Load again: every connection it leases must reach the new node.
      let old = 0;
      for (let round = 0; round < 10; round++) {
        const got = await Promise.all(Array.from({ length: 64 }, () => mc.get("k")));
        old += got.filter((v) => v === "old").length;
      }
      assert.equal(old, 0, "reads served by the replaced node");
      await waitFor(async () => (await connectionsOf(oldNode)) === 0, 5000); // no socket to the old node left
    } finally {
      await mc.close();
    }
  });
});
