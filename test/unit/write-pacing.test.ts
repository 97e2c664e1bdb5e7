/**
 * Write pacing: a turn of the event loop writes on at most FLUSHES_PER_TURN connections; writes past
 * that go out a share per later turn, in order. Below the share, nothing changes: soon or after I/O.
 * The tests run in order in one process and share the module's count.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FLUSHES_PER_TURN, flushesWaiting, scheduleFlush } from "../../src/connection/write-pacing.ts";

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("write pacing (connection/write-pacing.ts)", () => {
  it("past the share, a share per later turn, in the order asked; the caller's turn writes only its share", async () => {
    // The first test of this file's process: nothing counted yet.
    const total = FLUSHES_PER_TURN * 2 + 5;
    const written: number[] = [];
    for (let i = 0; i < total; i++) scheduleFlush(() => written.push(i), true);
    assert.equal(flushesWaiting(), total - FLUSHES_PER_TURN);
    await Promise.resolve();
    assert.equal(written.length, FLUSHES_PER_TURN, "the share, soon, as before");
    await nextTurn();
    assert.equal(written.length, FLUSHES_PER_TURN * 2, "one more share after the turn's I/O");
    await nextTurn();
    assert.equal(written.length, total);
    assert.deepEqual(
      written,
      Array.from({ length: total }, (_, i) => i),
      "in the order asked",
    );
    assert.equal(flushesWaiting(), 0);
  });

  it("the next turn has its share again", async () => {
    await nextTurn();
    let n = 0;
    for (let i = 0; i < FLUSHES_PER_TURN; i++) scheduleFlush(() => n++, true);
    await Promise.resolve();
    assert.equal(n, FLUSHES_PER_TURN);
    await nextTurn();
    for (let i = 0; i < FLUSHES_PER_TURN; i++) scheduleFlush(() => n++, true);
    assert.equal(flushesWaiting(), 0, "a new turn: none waits");
    await Promise.resolve();
    assert.equal(n, FLUSHES_PER_TURN * 2);
    await nextTurn(); // the count reached its reset: zero again for the next test
  });

  it("within the turn's share: `soon` before the turn's immediates, the others after its I/O", async () => {
    const order: string[] = [];
    setImmediate(() => order.push("immediate"));
    scheduleFlush(() => order.push("soon"), true);
    scheduleFlush(() => order.push("after I/O"), false);
    await nextTurn();
    await nextTurn();
    assert.deepEqual(order, ["soon", "immediate", "after I/O"]);
  });
});
