import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSoak } from "../soak/soak.ts";

describe("chaos soak (20 s)", () => {
  it("never another key's value, never past the deadline, no unhandled rejection, flat heap and handles", async (t) => {
    const s = await runSoak(Number(process.env.SOAK_SECONDS ?? 20));
    t.diagnostic(
      `ops ${JSON.stringify(s.ops)} errors ${JSON.stringify(s.errors)} worst ms ${JSON.stringify(s.worstMs)} heap MiB ${JSON.stringify(s.heapMiB)} handles ${JSON.stringify(s.handles)} chaos ${JSON.stringify(s.chaos)}`,
    );
    assert.deepEqual(s.violations, []);
    assert.ok(s.chaos.length >= 3, "the chaos loop ran");
    assert.ok((s.ops.get ?? 0) > 1000, "the workers ran");
  });
});
