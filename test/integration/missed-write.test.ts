/**
 * A replica that misses a write and stays up (found by the simulator, #31): with replicas 2, a set
 * whose bytes never reach one replica (its connection swallowed them; fewer failures than
 * `failureThreshold`, so it is not marked down) is acknowledged by the other. The replica that
 * missed it still holds the value before: a read there must miss until it is repaired, and the
 * repair (in place; or, when the replica fails it, on its return) deletes the old value there.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Client, HashRing } from "../../src/index.ts";
import { type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";
import { FaultProxy } from "../support/proxy.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let servers: MemcachedServer[] = [];
let proxy: FaultProxy;
const clients: Client[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  servers = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  proxy = await new FaultProxy(servers[0]!.host, servers[0]!.port).start();
});
afterEach(async () => {
  proxy.mode = "pass";
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
after(async () => {
  await proxy.stop();
  await Promise.all(servers.map((s) => s.kill()));
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, [], "no unhandled rejection in this file");
});

forEachProtocol(() => {
  describe("a replica that missed a write while staying up (#31)", () => {
    it("never serves the value before it, and the old value is deleted there", async () => {
      const labels = [proxy.label, servers[1]!.label, servers[2]!.label];
      const ring = new HashRing(labels);
      const key = Array.from({ length: 200 }, (_, i) => `missed:${current.protocol}:${i}`).find(
        (k) => ring.serversFor(k, 2)[0] === proxy.label,
      )!;
      const mc = new Client({
        protocol: current.protocol,
        servers: labels,
        replicas: 2,
        timeout: 150,
        failover: { failureThreshold: 10, retryDelay: 100, maxRetryDelay: 100 },
      });
      const direct = new Client({ protocol: current.protocol, servers: [servers[0]!.label], timeout: 1000 });
      clients.push(mc, direct);
      assert.equal(await mc.set(key, "v1"), true);
      proxy.mode = "blackhole"; // the replica reads the write and never sees it
      assert.equal(await mc.set(key, "v2"), true, "acknowledged by the other replica");
      await sleep(400); // past the hang detector: the connection that swallowed it is gone
      proxy.mode = "pass";
      assert.equal(await direct.get(key), "v1", "the replica still holds the value before");
      for (let i = 0; i < 5; i++) assert.notEqual(await mc.get(key), "v1", "never the value before v2");
      await waitFor(async () => (await direct.get(key)) === undefined, 3000);
    });
  });
});
