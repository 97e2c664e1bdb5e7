/**
 * The freshness owner and servers that missed writes: a write that failed on a server that stays
 * up (repaired in place), a write made while a home was away (repaired on its return, on it and on
 * the fallback owner that held the key meanwhile), and the flushes when too much was missed.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { Server } from "../../src/cluster/server.ts";
import { Op } from "../../src/protocol/frame.ts";
import {
  addr,
  FakeFleet,
  keysWhere,
  readAttempt,
  type Sent,
  setFrame,
  until,
} from "../support/fake-fleet.ts";

const down = new Error("down for the test");
let fleet: FakeFleet;
afterEach(() => fleet.close());

/** Attempts held by the test instead of answered: settle them with `a.succeed` / `a.fail`. */
function holding(f: FakeFleet, op: Op): Sent[] {
  const held: Sent[] = [];
  const answer = f.answer;
  f.answer = (s) => (s.op === op ? held.push(s) : answer(s));
  return held;
}

/** Keys whose home is `s`. */
const homedOn = (f: FakeFleet, s: Server, n: number) =>
  keysWhere(n, (k) => f.membership.homeRing.serverFor(k) === s.label);

describe("Freshness: a write that failed on a server that stays up", () => {
  it("the key may be stale there (and only there) until its delete in place is answered", async () => {
    fleet = new FakeFleet([addr(1), addr(2), addr(3)], { replicas: 2 });
    const fresh = fleet.freshness;
    const b = fleet.server(2);
    const held = holding(fleet, Op.DeleteMany);
    assert.equal(fresh.nothingToGuard, true);
    fresh.noteFailedWrite(b, setFrame("k"), () => "k", new Error("reset"));
    assert.deepEqual(fleet.writeFailures, [[b.label, "k"]]);
    assert.equal(fresh.mayBeStale(b.label, "k", false), true);
    assert.equal(fresh.mayBeStale(b.label, "other", false), false);
    assert.equal(fresh.mayBeStale(fleet.server(1).label, "k", false), false);
    assert.equal(fresh.hasAny(b.label), true);
    assert.equal(fresh.nothingToGuard, false);
    await until(() => held.length === 1, "the delete in place");
    assert.deepEqual(held[0]!.keys, ["k"]);
    assert.equal(held[0]!.server, b);
    assert.equal(fresh.mayBeStale(b.label, "k", false), true, "still stale while its delete is under way");
    held[0]!.attempt.succeed(true);
    await until(() => !fresh.hasAny(b.label), "the repair's end");
    assert.equal(fresh.mayBeStale(b.label, "k", false), false);
    assert.equal(fresh.nothingToGuard, true);
  });

  it("a repair in place that fails is tried again after a back-off; the key stays stale meanwhile", async () => {
    fleet = new FakeFleet([addr(1), addr(2)], { replicas: 2 });
    const fresh = fleet.freshness;
    const b = fleet.server(2);
    const held = holding(fleet, Op.DeleteMany);
    fresh.noteFailedWrite(b, setFrame("k"), () => "k", new Error("reset"));
    await until(() => held.length === 1, "the first delete");
    held[0]!.attempt.fail(new Error("no answer"));
    await new Promise((r) => setImmediate(r));
    assert.equal(fresh.mayBeStale(b.label, "k", false), true, "put back after the failed repair");
    await until(() => held.length === 2, "the delete tried again");
    assert.deepEqual(held[1]!.keys, ["k"]);
    held[1]!.attempt.succeed(true);
    await until(() => !fresh.hasAny(b.label), "the repair's end");
    assert.equal(b.state, "up", "a repair's failure does not judge the server's health");
  });

  it("a read of a key that may be stale on its server answers a miss; other keys are sent", async () => {
    fleet = new FakeFleet([addr(1), addr(2)], { replicas: 2 });
    const fresh = fleet.freshness;
    const b = fleet.server(2);
    holding(fleet, Op.DeleteMany); // the repair stays under way
    fresh.noteFailedWrite(b, setFrame("k"), () => "k", new Error("reset"));
    const sent: unknown[] = [];
    const stale = readAttempt(b, "k");
    assert.equal(
      fresh.hold(stale.a, b, (a) => sent.push(a)),
      true,
    );
    await until(() => stale.outcome.settled, "the miss");
    assert.deepEqual(stale.outcome, { settled: true, value: undefined });
    const other = readAttempt(b, "other");
    assert.equal(
      fresh.hold(other.a, b, (a) => sent.push(a)),
      false,
    );
    // A batch is sent, its stale keys marked: their hits are taken for misses.
    const many = readAttempt(b, ["x", "k", "y"]);
    assert.equal(
      fresh.hold(many.a, b, (a) => sent.push(a)),
      false,
    );
    assert.deepEqual(many.a.staleKeys, [1]);
    assert.deepEqual(sent, []);
  });
});

describe("Freshness: a server's return", () => {
  it("a write made while a home was away is deleted on it and on the fallback owner before it is put back", async () => {
    fleet = new FakeFleet([addr(1), addr(2), addr(3)]);
    const m = fleet.membership;
    const c = fleet.server(3);
    const [k] = homedOn(fleet, c, 1);
    const elsewhere = keysWhere(1, (x) => m.homeRing.serverFor(x) !== c.label)[0]!;
    c.markDown(down);
    const fallback = m.owner(k!)!;
    fleet.write(k!, elsewhere);
    assert.deepEqual(fleet.writeFailures, [[c.label, k]], "remembered for its away home only");
    assert.equal(fleet.freshness.mayBeStale(c.label, k!, false), true);
    const states: string[] = [];
    fleet.answer = (s) => {
      states.push(`${s.server.label} ${s.keys} while ${c.state}`);
      setImmediate(() => s.attempt.succeed(true));
    };
    await fleet.freshness.rejoin(c);
    assert.deepEqual(states, [`${c.label} ${k} while down`, `${fallback.label} ${k} while down`]);
    assert.equal(c.state, "up");
    assert.equal(fleet.freshness.hasAny(c.label), false);
    assert.equal(m.owner(k!), c);
  });

  it("a return whose clean-up fails rejects: the server stays down and what it missed stays remembered", async () => {
    fleet = new FakeFleet([addr(1), addr(2), addr(3)]);
    const c = fleet.server(3);
    const [k] = homedOn(fleet, c, 1);
    c.markDown(down);
    fleet.write(k!);
    fleet.answer = (s) => setImmediate(() => s.attempt.fail(new Error("refused")));
    await assert.rejects(fleet.freshness.rejoin(c), /refused/);
    assert.notEqual(c.state, "up");
    assert.equal(fleet.freshness.mayBeStale(c.label, k!, false), true);
  });

  it("writes that arrive during a return's clean-up are deleted in a further round before it is put back", async () => {
    fleet = new FakeFleet([addr(1), addr(2), addr(3)]);
    const c = fleet.server(3);
    const [k1, k2] = homedOn(fleet, c, 2);
    c.markDown(down);
    fleet.write(k1!);
    const rounds: string[][] = [];
    fleet.answer = (s) => {
      if (s.server === c) {
        rounds.push(s.keys);
        if (rounds.length === 1) fleet.write(k2!); // a write lands while round one runs
      }
      setImmediate(() => s.attempt.succeed(true));
    };
    await fleet.freshness.rejoin(c);
    assert.deepEqual(rounds, [[k1], [k2]]);
    assert.equal(c.state, "up");
  });

  it("a return whose missed writes keep coming as fast as rounds repair them is flushed, then put back", async () => {
    fleet = new FakeFleet([addr(1), addr(2), addr(3)]);
    const c = fleet.server(3);
    const keys = homedOn(fleet, c, 50);
    c.markDown(down);
    let next = 0;
    fleet.write(keys[next++]!);
    fleet.answer = (s) => {
      if (s.server === c && s.op === Op.DeleteMany) fleet.write(keys[next++]!);
      setImmediate(() => s.attempt.succeed(true));
    };
    await fleet.freshness.rejoin(c);
    assert.equal(fleet.sentOf(Op.Flush, c).length, 1);
    assert.ok(fleet.sentOf(Op.DeleteMany, c).length > 1, "rounds were tried first");
    assert.equal(fleet.freshness.flushes, 1);
    assert.match(fleet.flushed[0]![1], /kept coming/);
    assert.equal(c.state, "up");
  });

  it("a rejoin after an overflow flush: flushed before it serves, counted, and its keys' fallback copies cleaned", async () => {
    fleet = new FakeFleet([addr(1), addr(2), addr(3)], { maxWriteFailures: 3 });
    const m = fleet.membership;
    const c = fleet.server(3);
    const keys = homedOn(fleet, c, 6);
    c.markDown(down);
    fleet.write(...keys.slice(0, 5)); // more than the 3 remembered: which ones is unknown now
    assert.equal(fleet.freshness.mayBeStale(c.label, "never written", false), true, "all of it may be stale");
    const held = holding(fleet, Op.Flush);
    const deletes: string[] = [];
    const answer = fleet.answer;
    fleet.answer = (s) => {
      if (s.op === Op.DeleteMany) deletes.push(`${s.server.label} ${s.keys} while ${c.state}`);
      answer(s);
    };
    const rejoined = fleet.freshness.rejoin(c);
    await until(() => held.length === 1, "the flush");
    assert.equal(held[0]!.server, c);
    assert.notEqual(c.state, "up", "not serving before the flush is answered");
    // Written while the flush runs: its copy lands on the fallback owner (the server is still away).
    const late = keys[5]!;
    const fallback = m.owner(late)!;
    fleet.write(late);
    held[0]!.attempt.succeed(true);
    await rejoined;
    assert.equal(c.state, "up");
    assert.equal(fleet.freshness.flushes, 1);
    assert.deepEqual(fleet.flushed, [
      [c.label, "more than 3 writes missed it: which keys it may hold stale is unknown"],
    ]);
    await until(() => deletes.length === 1, "the fallback's clean-up");
    assert.deepEqual(deletes, [`${fallback.label} ${late} while up`]);
    assert.equal(fleet.sentOf(Op.DeleteMany, c).length, 0, "flushed: nothing to delete on it");
  });

  it("after an overflow flush, the placement used while it was away is a past ring: later writes are remembered on the fallback", async () => {
    fleet = new FakeFleet([addr(1), addr(2), addr(3)], { maxWriteFailures: 1 });
    const m = fleet.membership;
    const c = fleet.server(3);
    const keys = homedOn(fleet, c, 3);
    c.markDown(down);
    const fallback = m.owner(keys[2]!)!;
    fleet.write(keys[0]!, keys[1]!);
    await fleet.freshness.rejoin(c);
    assert.equal(fleet.freshness.hasAny(fallback.label), false);
    // Back home on it; the copy the fallback may hold from its absence must not be served later.
    fleet.write(keys[2]!);
    assert.equal(fleet.freshness.mayBeStale(fallback.label, keys[2]!, false), true);
    assert.equal(fleet.freshness.mayBeStale(c.label, keys[2]!, false), false);
  });
});
