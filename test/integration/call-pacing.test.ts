/**
 * Calls held back for a later turn (`cluster/call-pacing.ts`), against a real memcached: a run of
 * calls that holds the CPU longer than its share goes out over several turns — in the order made,
 * each call keeping the deadline it had when it was made, and all of them sent before `close()`
 * closes the sockets.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, TimeoutError } from "../../src/index.ts";
import { SEND_SHARE_MS } from "../../src/cluster/call-pacing.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";

/** Holds the CPU for `ms`: a caller doing work of its own between its calls. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Calls made but not yet in any server's queue: held for a later turn. */
function heldBack(mc: Client, made: number): number {
  const servers = mc.health().servers;
  return made - servers.reduce((n, s) => n + s.queued + s.inFlight, 0);
}

describe("call pacing against memcached", () => {
  let server: MemcachedServer;
  before(async () => {
    server = await startMemcached();
  });
  after(async () => {
    await server.kill();
  });

  it("a long run of calls goes out over several turns, in the order made: each get sees the set before it", async () => {
    const mc = new Client({ servers: [server.label], timeout: 10_000 });
    try {
      await mc.set("pace:warm", "x"); // the connection is up: no call waits for it
      const sets: Promise<boolean>[] = [];
      const gets: Promise<unknown>[] = [];
      const t0 = performance.now();
      for (let i = 0; i < 300; i++) {
        sets.push(mc.set(`pace:${i}`, `v${i}`));
        gets.push(mc.get(`pace:${i}`));
        busy(0.05);
      }
      const run = performance.now() - t0;
      const held = heldBack(mc, 600);
      assert.ok(run > SEND_SHARE_MS * 2, `the run took ${run.toFixed(1)} ms`);
      assert.ok(held > 0, `calls made after the run's share wait for later turns (${held} of 600)`);
      assert.deepEqual(
        await Promise.all(sets),
        sets.map(() => true),
      );
      assert.deepEqual(
        await Promise.all(gets),
        gets.map((_, i) => `v${i}`),
        "each get was sent after its set",
      );
    } finally {
      await mc.close();
    }
  });

  it("close() sends the calls still held back before it closes the sockets", async () => {
    const mc = new Client({ servers: [server.label], timeout: 10_000 });
    await mc.set("pace:warm", "x");
    const sets: Promise<boolean>[] = [];
    for (let i = 0; i < 300; i++) {
      sets.push(mc.set(`closing:${i}`, `c${i}`));
      busy(0.1);
    }
    assert.ok(heldBack(mc, 300) > 0, "some sets wait for a later turn");
    await mc.close();
    assert.deepEqual(
      await Promise.all(sets),
      sets.map(() => true),
    );
    const reader = new Client({ servers: [server.label], timeout: 10_000 });
    try {
      const stored = await reader.getMany(sets.map((_, i) => `closing:${i}`));
      assert.equal(stored.size, 300, "every held set was stored");
    } finally {
      await reader.close();
    }
  });

  it("a held call whose deadline passed while it waited times out unsent (a read with failOpen misses)", async () => {
    const mc = new Client({ servers: [server.label], timeout: 10 });
    const failOpen = new Client({ servers: [server.label], timeout: 10, failOpen: true });
    try {
      await mc.set("pace:late", "stored", { timeout: 10_000 });
      await failOpen.get("pace:late", { timeout: 10_000 });
      const sets: Promise<boolean>[] = [];
      const reads: Promise<unknown>[] = [];
      // A 40 ms run: a call held halfway through has a deadline that passes before the run ends.
      for (let i = 0; i < 200; i++) {
        sets.push(mc.set(`late:${i}`, "late"));
        reads.push(failOpen.get("pace:late"));
        busy(0.2);
      }
      const settled = Promise.allSettled(sets);
      const outcome = (await settled)[100];
      assert.equal(outcome!.status, "rejected", "the set made halfway was held past its deadline");
      const error = (outcome as PromiseRejectedResult).reason;
      assert.ok(error instanceof TimeoutError, String(error));
      assert.match(error.message, /waited for a later turn/);
      assert.equal(await reads[100], undefined, "failOpen: the read held past its deadline misses");
      await Promise.all(reads);
      const reader = new Client({ servers: [server.label], timeout: 10_000 });
      try {
        assert.equal(await reader.get("late:100"), undefined, "the held set was never sent");
      } finally {
        await reader.close();
      }
    } finally {
      await mc.close();
      await failOpen.close();
    }
  });
});
