import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CONNECTS_PER_TURN,
  connectsWaiting,
  whenConnectAllowed,
} from "../../src/connection/connect-pacing.ts";

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("connect pacing (connection/connect-pacing.ts)", () => {
  it("starts at most CONNECTS_PER_TURN connects in one turn of the event loop; the rest follow, in order", async () => {
    const total = CONNECTS_PER_TURN * 2 + 5;
    const started: number[] = [];
    for (let i = 0; i < total; i++) whenConnectAllowed(() => started.push(i));
    assert.equal(started.length, CONNECTS_PER_TURN, "this turn's share");
    assert.equal(connectsWaiting(), total - CONNECTS_PER_TURN);
    await nextTurn();
    assert.equal(started.length, CONNECTS_PER_TURN * 2, "one more share per turn");
    await nextTurn();
    assert.equal(started.length, total);
    assert.deepEqual(
      started,
      Array.from({ length: total }, (_, i) => i),
      "in the order asked",
    );
    assert.equal(connectsWaiting(), 0);
  });

  it("a new turn starts a full share again", async () => {
    await nextTurn();
    let n = 0;
    for (let i = 0; i < CONNECTS_PER_TURN; i++) whenConnectAllowed(() => n++);
    assert.equal(n, CONNECTS_PER_TURN);
    assert.equal(connectsWaiting(), 0);
  });
});
