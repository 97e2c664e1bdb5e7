import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runConsistencySoak } from "../soak/consistency.ts";
import { runSoak } from "../soak/soak.ts";
import { forEachProtocol } from "../support/protocols.ts";

describe("chaos soak (10 s per protocol)", () => {
  forEachProtocol((protocol) => {
    it("never another key's value, never past the deadline, no unhandled rejection, flat heap and handles", async (t) => {
      const seconds = Number(process.env.SOAK_SECONDS ?? 10);
      const s = await runSoak(seconds, undefined, protocol);
      t.diagnostic(
        `ops ${JSON.stringify(s.ops)} errors ${JSON.stringify(s.errors)} worst ms ${JSON.stringify(s.worstMs)} heap MiB ${JSON.stringify(s.heapMiB)} handles ${JSON.stringify(s.handles)} event loop stalled ${JSON.stringify(s.stalledMs)} chaos ${JSON.stringify(s.chaos)}`,
      );
      assert.deepEqual(s.violations, []);
      // One chaos event every 1.5–3 s.
      assert.ok(s.chaos.length >= Math.floor(seconds / 4), "the chaos loop ran");
      assert.ok((s.ops.get ?? 0) > 1000, "the workers ran");
    });
  });
});

describe("consistency soak (8 s per replica setting): never older than the last acknowledged write", () => {
  for (const replicas of [1, 2]) {
    it(`replicas ${replicas}: kills, short and long pauses, restarts empty; 0 stale reads`, async (t) => {
      const seconds = Number(process.env.SOAK_SECONDS ?? 8);
      const s = await runConsistencySoak(seconds, replicas);
      t.diagnostic(
        `reads ${s.reads}, hits ${s.hits} (${((100 * s.hits) / Math.max(1, s.reads)).toFixed(1)} %), stale ${s.stale}, wrong ${s.wrong}, writes ${JSON.stringify(s.writes)}, read errors ${s.readErrors}, chaos ${JSON.stringify(s.chaos)}`,
      );
      assert.deepEqual(s.violations, []);
      assert.equal(s.stale, 0);
      assert.equal(s.wrong, 0);
      assert.ok(s.chaos.length >= Math.floor(seconds / 2), "the chaos loop ran");
      assert.ok(s.reads > 10_000 && s.hits > s.reads / 2, "reads were served, mostly hits: not just misses");
    });
  }
});

describe("consistency soak across server-list changes and failures (8 s per replica setting)", () => {
  for (const replicas of [1, 2]) {
    it(`replicas ${replicas}: the list changes every half second while servers fail, with warm-up; 0 stale reads`, async (t) => {
      const seconds = Number(process.env.SOAK_SECONDS ?? 8);
      const s = await runConsistencySoak(seconds, replicas, "meta", undefined, true);
      t.diagnostic(
        `reads ${s.reads}, hits ${s.hits} (${((100 * s.hits) / Math.max(1, s.reads)).toFixed(1)} %), stale ${s.stale}, wrong ${s.wrong}, writes ${JSON.stringify(s.writes)}, read errors ${s.readErrors}, list changes ${s.listChanges}`,
      );
      assert.deepEqual(s.violations, []);
      assert.equal(s.stale, 0);
      assert.equal(s.wrong, 0);
      assert.ok(s.listChanges >= seconds, `the list changed (${s.listChanges} times)`);
      assert.ok(s.reads > 10_000 && s.hits > s.reads / 2, "reads were served, mostly hits: not just misses");
    });
  }
});
