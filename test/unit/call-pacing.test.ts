import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CallPacer, SEND_SHARE_MS } from "../../src/cluster/call-pacing.ts";
import type { Call } from "../../src/cluster/call.ts";

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const microtask = () => Promise.resolve();

/** Holds the CPU for `ms`: a caller whose calls are expensive. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** What the pacer reads of a call: whether it settled, and its deadline. */
function fakeCall(id: number): Call & { id: number; fixedAt: number } {
  const call = {
    id,
    settled: false,
    paced: false,
    fixedAt: 0,
    endsAt() {
      if (call.fixedAt === 0) call.fixedAt = performance.now();
      return call.fixedAt + 1000;
    },
  };
  return call as unknown as Call & { id: number; fixedAt: number };
}

/** A pacer whose calls are "sent" into `sent`; `make(n)` makes n calls in one run, `cost` ms each. */
function setUp(cost: number) {
  const sent: number[] = [];
  const held: number[] = [];
  const pacer = new CallPacer((call) => sent.push((call as unknown as { id: number }).id));
  let next = 0;
  const make = (n: number) => {
    const calls = [];
    for (let i = 0; i < n; i++) {
      const call = fakeCall(next++);
      calls.push(call);
      if (pacer.holds(call)) held.push(call.id);
      else sent.push(call.id);
      busy(cost);
    }
    return calls;
  };
  return { pacer, sent, held, make };
}

describe("call pacing (cluster/call-pacing.ts)", () => {
  it("a run that spent its share holds the calls after it; later turns send them, in order", async () => {
    const { pacer, sent, held, make } = setUp(0.1);
    const calls = make(400); // 40 ms of calls: well over the share
    assert.ok(held.length > 0, "some calls wait");
    assert.ok(sent.length >= 32, "a run's first calls go at once");
    assert.deepEqual(
      held,
      calls.slice(sent.length).map((c) => c.id),
      "once one call waits, every later call of the run waits too",
    );
    for (const c of calls) {
      const id = c.id;
      assert.equal(c.paced, held.includes(id), `call ${id}: marked as held back exactly when it was`);
      if (c.paced) assert.ok(c.fixedAt > 0, `call ${id}: its deadline was fixed when it was held`);
    }
    assert.equal(pacer.waiting, held.length);
    await nextTurn();
    assert.ok(sent.length > 400 - held.length, "the next turn sends waiting calls");
    for (let i = 0; i < 10 && pacer.waiting > 0; i++) await nextTurn();
    assert.equal(pacer.waiting, 0);
    assert.deepEqual(
      sent,
      calls.map((c) => c.id),
      "every call sent once, in the order made",
    );
  });

  it("a later turn sends about a share's worth of time, not all at once", async () => {
    const sent: number[] = [];
    const pacer = new CallPacer((call) => {
      sent.push((call as unknown as { id: number }).id);
      busy(0.5); // each send costs half a millisecond in the later turns
    });
    for (let i = 0; i < 200; i++) {
      if (!pacer.holds(fakeCall(i))) sent.push(i);
      busy(0.1);
    }
    const before = sent.length;
    await nextTurn();
    const inOneTurn = sent.length - before;
    assert.ok(inOneTurn > 0, "the turn sent some");
    assert.ok(
      inOneTurn <= Math.ceil(SEND_SHARE_MS / 0.5) + 8,
      `one turn sent ${inOneTurn} calls of half a millisecond each`,
    );
    assert.ok(pacer.waiting > 0, "the rest waits for the turns after");
    pacer.flush();
    assert.equal(pacer.waiting, 0, "flush sends every waiting call now");
    assert.equal(sent.length, 200);
  });

  it("a run of a few calls is never held, however slow", () => {
    const slow = setUp(1);
    slow.make(31); // 31 ms, but fewer calls than one look at the clock needs
    assert.equal(slow.held.length, 0);
  });

  it("a new run starts with a full share, but waits behind calls of its client that wait already", async () => {
    const { pacer, held, sent, make } = setUp(0.1);
    make(300);
    const heldInFirstRun = held.length;
    assert.ok(heldInFirstRun > 0);
    await microtask(); // a new run, same turn
    make(1);
    assert.equal(held.length, heldInFirstRun + 1, "it waits: calls of one client keep their order");
    const other = setUp(0);
    other.make(5);
    assert.equal(other.held.length, 0, "another client's new run is not held");
    for (let i = 0; i < 20 && pacer.waiting > 0; i++) await nextTurn();
    assert.equal(sent.length, 301);
  });

  it("a call that settled while it waited (aborted) is not sent", async () => {
    const { pacer, held, sent, make } = setUp(0.1);
    const calls = make(300);
    const aborted = calls.find((c) => c.id === held[0])!;
    aborted.settled = true;
    for (let i = 0; i < 20 && pacer.waiting > 0; i++) await nextTurn();
    assert.equal(sent.length, 299);
    assert.ok(!sent.includes(aborted.id));
  });
});
