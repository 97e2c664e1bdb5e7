import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HashRing } from "../../src/index.ts";

/** Six servers, two in each of three zones (listed zone by zone, so ring order mixes them). */
const fleet = [1, 2, 3, 4, 5, 6].map((i) => ({ host: `10.0.0.${i}`, port: 11211, zone: `z${(i - 1) >> 1}` }));
const zoneOf = new Map(fleet.map((s) => [`${s.host}:${s.port}`, s.zone]));
const keys = Array.from({ length: 2000 }, (_, i) => `zone-key:${i}`);

describe("replica placement across zones", () => {
  it("replicas 3 over 3 zones: every key has one copy in each zone", () => {
    const ring = new HashRing(fleet);
    for (const k of keys) {
      const zones = ring.serversFor(k, 3).map((l) => zoneOf.get(l));
      assert.equal(new Set(zones).size, 3, `${k}: ${zones}`);
    }
  });

  it("replicas 2 over 3 zones: a key's two copies are never in one zone", () => {
    const ring = new HashRing(fleet);
    for (const k of keys) {
      const [a, b] = ring.serversFor(k, 2).map((l) => zoneOf.get(l));
      assert.notEqual(a, b, k);
    }
  });

  it("the owner is libmemcached's whatever the zones; more replicas than zones fill in ring order", () => {
    const zoned = new HashRing(fleet);
    const plain = new HashRing(fleet.map(({ host, port }) => ({ host, port })));
    for (const k of keys) {
      assert.equal(zoned.serverFor(k), plain.serverFor(k));
      assert.equal(zoned.serversFor(k, 1)[0], plain.serverFor(k));
      const six = zoned.serversFor(k, 6);
      assert.equal(new Set(six).size, 6);
      assert.equal(new Set(six.slice(0, 3).map((l) => zoneOf.get(l))).size, 3, "one per zone first");
    }
  });

  it("zones in entries: host:port@zone and dns+name:port@zone; a bad zone name is refused", () => {
    const ring = new HashRing(["10.0.0.1:11211@us-east-1a", "10.0.0.2:11211@us-east-1b"]);
    assert.deepEqual(ring.servers, ["10.0.0.1:11211", "10.0.0.2:11211"]);
    for (const k of keys.slice(0, 200)) assert.equal(new Set(ring.serversFor(k, 2)).size, 2);
    assert.throws(() => new HashRing(["10.0.0.1:11211@bad zone"]), /bad zone/);
    assert.throws(() => new HashRing([{ host: "10.0.0.1", zone: "" }]), /bad zone/);
  });
});
