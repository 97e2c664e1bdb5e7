import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  type Points,
  RADIX_FROM,
  sortByComparison,
  sortByRadix,
  sortPoints,
} from "../../src/cluster/point-sort.ts";

/** Points as they are made: server by server (owners never decrease), values anywhere. */
function pointsOf(values: number[], perServer: number): Points {
  return {
    values: Uint32Array.from(values),
    owners: Uint16Array.from(values, (_, i) => Math.floor(i / perServer)),
  };
}

/** The order the ring needs, by the plainest means: by value, then by server. */
function reference(p: Points): [number, number][] {
  return Array.from(p.values, (v, i): [number, number] => [v, p.owners[i]!]).sort(
    (a, b) => a[0] - b[0] || a[1] - b[1],
  );
}

const pairs = (p: Points): [number, number][] => Array.from(p.values, (v, i) => [v, p.owners[i]!]);
const drain = <T>(steps: Generator<void, T>): { value: T; yields: number } => {
  let yields = 0;
  for (let r = steps.next(); ; r = steps.next(), yields++)
    if (r.done === true) return { value: r.value, yields };
};

describe("a ring's points sorted", () => {
  it("by radix and by comparison alike: by value, equal values by server, whatever the values", () => {
    fc.assert(
      fc.property(
        // A small range gives many equal values (the tie-break at work); the full range, few.
        fc
          .constantFrom(7, 0xffffffff)
          .chain((max) => fc.array(fc.integer({ min: 0, max }), { maxLength: 600 })),
        fc.integer({ min: 1, max: 40 }),
        (values, perServer) => {
          const want = reference(pointsOf(values, perServer));
          assert.deepEqual(pairs(drain(sortByRadix(pointsOf(values, perServer))).value), want);
          assert.deepEqual(pairs(sortByComparison(pointsOf(values, perServer))), want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a long list by radix, a pass a turn when built in pieces; a short one at once", () => {
    const values = Array.from({ length: RADIX_FROM + 500 }, (_, i) => (i * 2654435761) >>> 0);
    const long = drain(sortPoints(pointsOf(values, 160), true));
    assert.equal(long.yields, 3, "a yield before each of the three passes");
    assert.deepEqual(pairs(long.value), reference(pointsOf(values, 160)));
    assert.equal(drain(sortPoints(pointsOf(values, 160), false)).yields, 0, "not in pieces: no yield");
    const short = drain(sortPoints(pointsOf(values.slice(0, RADIX_FROM - 1), 160), true));
    assert.equal(short.yields, 0);
    assert.deepEqual(pairs(short.value), reference(pointsOf(values.slice(0, RADIX_FROM - 1), 160)));
  });
});
