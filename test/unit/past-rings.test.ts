import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ketamaHash } from "../../src/cluster/ketama.ts";
import { MAX_PAST_RINGS, PastRings } from "../../src/cluster/freshness/past-rings.ts";

const addr = (port: number) => ({ host: "10.0.0.1", port, weight: 1 });
const homes = (p: PastRings, key: string) => {
  const out: string[] = [];
  p.homesOf(ketamaHash(key), 1, out);
  return out;
};

describe("PastRings", () => {
  it("keeps a retired ring while an item without TTL may live (no TTL sent means none)", () => {
    const p = new PastRings();
    p.noteTtl(0);
    p.retire([addr(1), addr(2)]);
    p.prune(Date.now() + 10 * 365 * 86_400_000);
    assert.ok(p.active);
    assert.equal(homes(p, "k").length, 1);
  });

  it("drops a retired ring once the longest TTL written has passed", () => {
    const p = new PastRings();
    p.noteTtl(60);
    p.noteTtl(5); // shorter: the longest stays
    p.retire([addr(1), addr(2)]);
    p.prune(Date.now() + 30_000);
    assert.ok(p.active);
    p.prune(Date.now() + 61_000);
    assert.ok(!p.active);
  });

  it("reads an absolute expiry time (past 30 days) as the time left", () => {
    const p = new PastRings();
    p.noteTtl(Math.floor(Date.now() / 1000) + 120);
    p.retire([addr(1)]);
    p.prune(Date.now() + 60_000);
    assert.ok(p.active);
    p.prune(Date.now() + 125_000);
    assert.ok(!p.active);
  });

  it("keeps one ring per membership, and past the most kept hands back the oldest ring's servers", () => {
    const p = new PastRings();
    p.noteTtl(0);
    assert.deepEqual(p.retire([addr(1), addr(2)]), []);
    assert.deepEqual(p.retire([addr(1), addr(2)]), []);
    assert.equal(homes(p, "k").length, 1);
    for (let i = 0; i < MAX_PAST_RINGS - 1; i++) assert.deepEqual(p.retire([addr(100 + i)]), []);
    assert.deepEqual(p.retire([addr(999)]), ["10.0.0.1:1", "10.0.0.1:2"]);
  });
});
