import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CONNECTS_PER_TURN,
  connectsWaiting,
  whenConnectAllowed,
} from "../../src/connection/connect-pacing.ts";

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("connect pacing (connection/connect-pacing.ts)", () => {
  it("starts no connect in the turn that asks for it: the caller's turn carries only its calls", async () => {
    let n = 0;
    whenConnectAllowed(() => n++);
    assert.equal(n, 0, "not started in this turn");
    assert.equal(connectsWaiting(), 1);
    await nextTurn();
    assert.equal(n, 1, "started after this turn's I/O");
    assert.equal(connectsWaiting(), 0);
  });

  it("starts at most CONNECTS_PER_TURN connects in one turn of the event loop; the rest follow, in order", async () => {
    const total = CONNECTS_PER_TURN * 2 + 5;
    const started: number[] = [];
    for (let i = 0; i < total; i++) whenConnectAllowed(() => started.push(i));
    assert.equal(started.length, 0, "none in the caller's turn");
    await nextTurn();
    assert.equal(started.length, CONNECTS_PER_TURN, "one share in the next turn");
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

  it("connects asked for while a wave starts count against that wave's share", async () => {
    let started = 0;
    let asking = true;
    const connect = () => {
      started++;
      if (asking) whenConnectAllowed(connect);
    };
    whenConnectAllowed(connect);
    await nextTurn();
    assert.equal(started, CONNECTS_PER_TURN, "one share, however many the connects asked for");
    await nextTurn();
    assert.equal(started, CONNECTS_PER_TURN * 2);
    assert.equal(connectsWaiting(), 1, "the one the last started connect asked for");
    asking = false;
    await nextTurn();
    assert.equal(connectsWaiting(), 0);
  });
});
