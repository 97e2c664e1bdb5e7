/**
 * A ring less some servers (`HashRing.without`), as the membership routes around down servers: a key
 * goes to its first replica on the full ring that is not skipped, so a key whose home is not skipped
 * never moves — whatever the weights and the fleet size (#31).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { HashRing, ketamaHash } from "../../src/cluster/ketama.ts";

const fleet = fc
  .array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 40 })
  .map((weights) => weights.map((weight, i) => ({ host: `10.1.${i >> 8}.${i & 255}`, port: 11211, weight })));

describe("HashRing.without", () => {
  it("gives each key its first replica that is not skipped, and never moves a key whose home stays", () => {
    fc.assert(
      fc.property(fleet, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (servers, skips) => {
        const full = HashRing.of(servers);
        const skip = (i: number) => skips[i] === true;
        const ring = full.without(skip);
        const labels = full.servers;
        const live = labels.filter((_, i) => !skip(i));
        for (let k = 0; k < 200; k++) {
          const key = `key:${k}`;
          const order = full.serversFor(key, labels.length);
          const expected = order.find((l) => !skip(labels.indexOf(l)));
          const got = ring.ownerIndexOfHash(ketamaHash(key));
          assert.equal(got === -1 ? undefined : labels[got], expected);
          if (!skip(full.ownerIndex(key))) assert.equal(labels[got], labels[full.ownerIndex(key)]);
          // Replica order on the smaller ring: the full ring's, less the skipped servers.
          const n = Math.min(3, live.length);
          if (n > 0)
            assert.deepEqual(
              ring.serversFor(key, 3),
              order.filter((l) => !skip(labels.indexOf(l))).slice(0, n),
            );
        }
      }),
      { numRuns: 60 },
    );
  });

  it("with every server skipped, no key has an owner", () => {
    const full = new HashRing(["a:1", "b:2", "c:3"]);
    const ring = full.without(() => true);
    assert.equal(ring.size, 0);
    assert.equal(ring.ownerIndexOfHash(ketamaHash("k")), -1);
    assert.deepEqual(ring.serversFor("k", 2), []);
  });

  it("a weighted ring rebuilt without a server moves keys between the others; without() does not", () => {
    const servers = [
      { host: "a", port: 1, weight: 1 },
      { host: "b", port: 2, weight: 3 },
      { host: "c", port: 3, weight: 1 },
    ];
    const full = HashRing.of(servers);
    const rebuilt = HashRing.of([servers[0]!, servers[1]!]);
    const routed = full.without((i) => i === 2);
    const keys = Array.from({ length: 2000 }, (_, i) => `w:${i}`).filter((k) => full.serverFor(k) === "b:2");
    const movedByRebuild = keys.filter((k) => rebuilt.serverFor(k) !== "b:2");
    assert.ok(movedByRebuild.length > 0, "libmemcached's rebuild moves some of b's keys to a");
    for (const k of keys) assert.equal(routed.serverFor(k), "b:2");
  });

  it("stepping over the skipped servers on the full ring finds what the ring without them would (owner and replicas)", () => {
    fc.assert(
      fc.property(fleet, fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (servers, skips) => {
        const full = HashRing.of(servers);
        const skip = (i: number) => skips[i] === true;
        const ring = full.without(skip);
        for (let k = 0; k < 200; k++) {
          const hash = ketamaHash(`key:${k}`);
          assert.equal(full.ownerIndexOfHashSkipping(hash, skip), ring.ownerIndexOfHash(hash));
          for (const n of [1, 2, 3])
            assert.deepEqual(full.serversForHash(hash, n, skip), ring.serversForHash(hash, n));
        }
      }),
      { numRuns: 100 },
    );
  });
});
