import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSoak } from "../soak/soak.ts";
import { forEachProtocol } from "../support/protocols.ts";

describe("chaos soak (10 s per protocol)", () => {
  forEachProtocol((protocol) => {
    it("never another key's value, never past the deadline, no unhandled rejection, flat heap and handles", async (t) => {
      const seconds = Number(process.env.SOAK_SECONDS ?? 10);
      const s = await runSoak(seconds, undefined, protocol);
      t.diagnostic(
        `ops ${JSON.stringify(s.ops)} errors ${JSON.stringify(s.errors)} worst ms ${JSON.stringify(s.worstMs)} heap MiB ${JSON.stringify(s.heapMiB)} handles ${JSON.stringify(s.handles)} chaos ${JSON.stringify(s.chaos)}`,
      );
      assert.deepEqual(s.violations, []);
      // One chaos event every 1.5–3 s.
      assert.ok(s.chaos.length >= Math.floor(seconds / 4), "the chaos loop ran");
      assert.ok((s.ops.get ?? 0) > 1000, "the workers ran");
    });
  });
});
