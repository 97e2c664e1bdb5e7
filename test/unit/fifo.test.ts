/** `Fifo`: a denque whose `count` is kept in a field; it must always equal what denque computes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Fifo } from "../../src/util/fifo.ts";
import { RUNS } from "../support/fuzz.ts";

type Step = { op: string; n: number };

const stepArb: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom("push", "push", "push", "unshift", "shift", "shift", "pop", "clear"),
  n: fc.nat(40),
});

describe("Fifo", () => {
  it(`count equals denque's size, and the items are a plain array's, after any operations (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 300 }), (steps) => {
        const q = new Fifo<number>();
        const model: number[] = [];
        let next = 0;
        for (const { op, n } of steps) {
          switch (op) {
            case "push":
              // Bursts, so the ring grows past its first size and shrinks again.
              for (let k = 0; k <= n; k++) {
                q.push(next);
                model.push(next++);
              }
              break;
            case "unshift":
              q.unshift(next);
              model.unshift(next++);
              break;
            case "shift":
              assert.equal(q.shift(), model.shift());
              break;
            case "pop":
              assert.equal(q.pop(), model.pop());
              break;
            case "clear":
              q.clear();
              model.length = 0;
              break;
          }
          assert.equal(q.count, q.size(), `after ${op}`);
          assert.equal(q.count, model.length, `after ${op}`);
        }
        assert.deepEqual(q.toArray(), model);
      }),
      { numRuns: RUNS },
    );
  });

  it("remove, removeOne and splice throw: only the ends are used (denque's remove can disorder a wrapped ring)", () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 10; i++) q.push(i);
    assert.throws(() => (q.remove as (i: number, n: number) => unknown)(0, 1), /only the ends/);
    assert.throws(() => (q.removeOne as (i: number) => unknown)(0), /only the ends/);
    assert.throws(() => (q.splice as (i: number, n: number) => unknown)(0, 1), /only the ends/);
    assert.equal(q.count, 10, "nothing removed");
  });
});
