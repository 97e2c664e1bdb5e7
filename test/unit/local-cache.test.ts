/**
 * The local cache's LRU against a model: random sequences of gets, sets and deletes must leave the same
 * entries, in the same recency order, as a plain list kept by hand.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { LocalCache } from "../../src/client/local-cache.ts";
import { RUNS } from "../support/fuzz.ts";

type Step = { op: "get" | "set" | "delete" | "clear"; key: string };

/** Waits until the clock the cache reads (performance.now) is past `at` (timers may fire early). */
async function past(at: number): Promise<void> {
  while (performance.now() <= at) await new Promise((r) => setTimeout(r, 5));
}

/** The model: keys from least to most recently used, at most `max`. */
function model(max: number, steps: Step[]): { order: string[]; hits: number } {
  let order: string[] = [];
  let hits = 0;
  for (const { op, key } of steps) {
    const at = order.indexOf(key);
    if (op === "clear") order = [];
    else if (op === "delete") {
      if (at >= 0) order.splice(at, 1);
    } else if (op === "get") {
      if (at >= 0) {
        hits++;
        order.splice(at, 1);
        order.push(key);
      }
    } else {
      if (at >= 0) order.splice(at, 1);
      order.push(key);
      if (order.length > max) order.shift();
    }
  }
  return { order, hits };
}

const stepArb = fc.record({
  op: fc.constantFrom("get", "get", "set", "set", "delete", "clear"),
  key: fc.constantFrom(..."abcdefghij"),
}) as fc.Arbitrary<Step>;

describe("local cache LRU", () => {
  it("keeps the entries a model LRU keeps, evicting the least recently used", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(stepArb, { maxLength: 200 }), (max, steps) => {
        const cache = new LocalCache({ max, ttl: 60_000 });
        for (const { op, key } of steps) {
          if (op === "set") cache.set(key, `v:${key}`);
          else if (op === "get") cache.get(key);
          else if (op === "delete") cache.delete(key);
          else cache.clear();
        }
        const expected = model(max, steps);
        assert.equal(cache.size, expected.order.length);
        assert.equal(cache.hits, expected.hits, "hits counted as the model counts them");
        // Reading the survivors from least to most recent leaves them in that order: the check does
        // not reorder what it checks next.
        for (const key of expected.order) {
          assert.deepEqual(cache.get(key), { value: `v:${key}` }, `${key} is kept`);
        }
        for (const key of "abcdefghij") {
          if (!expected.order.includes(key)) assert.equal(cache.peekStale(key), undefined, `${key} is gone`);
        }
        // One more set evicts exactly the least recently used survivor, when full.
        if (expected.order.length === max) {
          cache.set("new", "v:new");
          assert.equal(cache.peekStale(expected.order[0]!), undefined, "the oldest went first");
          for (const key of expected.order.slice(1)) assert.notEqual(cache.peekStale(key), undefined);
        }
      }),
      { numRuns: Math.max(200, RUNS / 10) },
    );
  });

  it("an expired entry is a miss, then a stale fallback until staleIfError ends", async () => {
    const cache = new LocalCache({ max: 4, ttl: 20, staleIfError: 60_000 });
    cache.set("k", 1);
    // Read after the set: the cache's own clock reading is no later, so waiting past this passes its ttl.
    let stored = performance.now();
    assert.deepEqual(cache.get("k"), { value: 1 });
    await past(stored + 20);
    assert.equal(cache.get("k"), undefined, "past ttl: a miss");
    assert.deepEqual(cache.stale("k"), { value: 1 }, "still a fallback");
    assert.deepEqual([cache.hits, cache.misses, cache.staleServed], [1, 1, 1]);
    const short = new LocalCache({ max: 4, ttl: 10 });
    short.set("k", 1);
    stored = performance.now();
    await past(stored + 10);
    assert.equal(short.get("k"), undefined);
    assert.equal(short.size, 0, "no stale window: dropped on the miss");
  });
});
