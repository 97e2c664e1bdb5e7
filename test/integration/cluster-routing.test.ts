/** Where a cluster of three puts each key, and the commands that go to every server or split over them. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HashRing } from "../../src/index.ts";
import { clusterSuite } from "../support/cluster-suite.ts";
import { forEachProtocol } from "../support/protocols.ts";

const { labels, client, direct } = clusterSuite();

forEachProtocol(() => {
  describe("cluster: routing", () => {
    it("each key is stored on the server libmemcached's ketama picks", async () => {
      const mc = client();
      const ring = new HashRing(labels);
      const keys = Array.from({ length: 300 }, (_, i) => `route:${i}`);
      for (const k of keys) assert.equal(await mc.set(k, k), true);
      const byServer = new Map(labels.map((l) => [l, direct(l)]));
      const counts = new Map<string, number>();
      for (const k of keys) {
        const owner = ring.serverFor(k);
        counts.set(owner, (counts.get(owner) ?? 0) + 1);
        for (const [label, d] of byServer) {
          assert.equal(await d.get(k), label === owner ? k : undefined, `${k} on ${label}`);
        }
      }
      for (const l of labels) assert.ok((counts.get(l) ?? 0) > 30, `keys spread over ${l}`);
    });

    it("getMany, setMany and deleteMany split per server and merge back in order", async () => {
      const mc = client();
      const keys = Array.from({ length: 200 }, (_, i) => `multi:${i}`);
      assert.deepEqual(
        await mc.setMany(keys.map((k, i) => [k, i] as const)),
        keys.map(() => true),
      );
      const got = await mc.getMany([...keys, "multi:none"]);
      assert.equal(got.size, 200);
      for (const [i, k] of keys.entries()) assert.equal(got.get(k), i);
      const del = await mc.deleteMany([keys[0]!, "multi:none", keys[199]!]);
      assert.deepEqual(del, [true, false, true]);
    });

    it("hashKey co-locates keys on one server", async () => {
      const mc = client();
      const ring = new HashRing(labels);
      const owner = ring.serverFor("user:7");
      await mc.setMany(
        [
          ["user:7:name", "Ada"],
          ["user:7:mail", "ada@example.org"],
        ],
        { hashKey: "user:7" },
      );
      const d = direct(owner);
      assert.equal(await d.get("user:7:name"), "Ada");
      assert.equal(await d.get("user:7:mail"), "ada@example.org");
      assert.equal(await mc.get("user:7:name", { hashKey: "user:7" }), "Ada");
    });

    it("stats and version of every server; flush of all", async () => {
      const mc = client();
      assert.deepEqual(Object.keys(await mc.version()).sort(), [...labels].sort());
      assert.deepEqual(Object.keys(await mc.stats()).sort(), [...labels].sort());
      await mc.set("flushme", 1);
      await mc.flush();
      assert.equal(await mc.get("flushme"), undefined);
      assert.equal(mc.health().servers.length, 3);
    });
  });
});
