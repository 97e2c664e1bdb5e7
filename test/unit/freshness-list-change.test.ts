/**
 * The freshness owner and changes of the server list: past rings (a write is remembered for a past
 * home that is its home no more), the deletes on kept servers before a change makes those keys
 * theirs again, the last repair round (writes arriving as fast as rounds repair them) and the reads
 * that wait for what it leaves under way, and a server that comes back to the list.
 *
 * The fleet: A and B, then C joins (keys move from B to C), then C leaves (they move back to B).
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { TimeoutError } from "../../src/errors.ts";
import type { CallAttempt } from "../../src/cluster/call.ts";
import { Op } from "../../src/protocol/frame.ts";
import { addr, FakeFleet, keysWhere, readAttempt, type Sent, until } from "../support/fake-fleet.ts";

const [A, B, C] = [addr(1), addr(2), addr(3)];
let fleet: FakeFleet;
afterEach(() => fleet.close());

/** A fleet of A and B that C joined, and keys that moved from B to C with it. */
async function joined(n: number): Promise<{ fleet: FakeFleet; moved: string[] }> {
  const f = new FakeFleet([A, B]);
  const before = f.membership.homeRing;
  f.write("seed"); // an item without TTL: the first list's placement matters as long as it may live
  await f.membership.setServers([A, B, C], "C joins");
  const after = f.membership.homeRing;
  const moved = keysWhere(
    n,
    (k) => before.serverFor(k) === "10.0.0.2:11211" && after.serverFor(k) === "10.0.0.3:11211",
  );
  f.log.length = 0; // tests read what follows
  return { fleet: f, moved };
}

/** The log with the sends reduced to those of `op`. */
const logOf = (f: FakeFleet, op: Op) => f.log.filter((e) => e.startsWith("commit") || e.startsWith(Op[op]));

describe("Freshness: past rings", () => {
  it("a write after a list change is remembered for its past home that is its home no more", async () => {
    let moved: string[];
    ({ fleet, moved } = await joined(1));
    const m = fleet.membership;
    const k = moved[0]!;
    const stayed = keysWhere(1, (x) => m.homeRing.serverFor(x) === "10.0.0.1:11211")[0]!;
    fleet.write(k, stayed);
    assert.equal(
      fleet.freshness.mayBeStale(fleet.server(2).label, k, false),
      true,
      "B keeps the copy it had",
    );
    assert.equal(fleet.freshness.mayBeStale(fleet.server(3).label, k, false), false, "C is its home");
    assert.equal(
      fleet.freshness.hasAny(fleet.server(1).label),
      false,
      "a key that stayed home is nowhere stale",
    );
    assert.deepEqual(fleet.writeFailures, [], "not a write failure: nothing failed");
  });

  it("a list change deletes on a kept server the keys it holds from an earlier list before it commits", async () => {
    let moved: string[];
    ({ fleet, moved } = await joined(3));
    const ringWithC = fleet.membership.homeRing;
    fleet.write(...moved);
    const b = fleet.server(2);
    await fleet.membership.setServers([A, B], "C leaves");
    assert.deepEqual(logOf(fleet, Op.DeleteMany), [`DeleteMany ${b.label}`, "commit", "commit step ended"]);
    assert.deepEqual(fleet.sentOf(Op.DeleteMany, b)[0]!.keys.sort(), [...moved].sort());
    assert.equal(fleet.freshness.nothingToGuard, true);
    assert.equal(fleet.freshness.previous?.ring, ringWithC, "warm-up asks the ring before the change");
    const read = readAttempt(b, moved[0]!);
    assert.equal(
      fleet.freshness.hold(read.a, b, () => undefined),
      false,
      "nothing left under way: reads go",
    );
  });

  it("a kept server whose clean-up before a change fails is taken down; the change commits and it stays remembered", async () => {
    let moved: string[];
    ({ fleet, moved } = await joined(1));
    fleet.write(moved[0]!);
    fleet.answer = (s) => setImmediate(() => s.attempt.fail(new Error("no answer")));
    await fleet.membership.setServers([A, B], "C leaves");
    const b = fleet.server(2);
    assert.notEqual(b.state, "up");
    assert.ok(fleet.log.includes("commit"));
    assert.equal(fleet.freshness.mayBeStale(b.label, moved[0]!, false), true, "its return repairs it");
  });
});

/**
 * Leaves the last round of a list change under way on B: each clean-up round of B, a write of
 * another moved key adds one for the next round. The deletes sent after the commit are held.
 */
async function lastRoundUnderWay(): Promise<{ held: Sent[]; changed: Promise<unknown>; rounds: string[][] }> {
  let moved: string[];
  ({ fleet, moved } = await joined(40));
  const b = fleet.server(2);
  let next = 0;
  fleet.write(moved[next++]!);
  const held: Sent[] = [];
  const rounds: string[][] = [];
  fleet.answer = (s) => {
    if (s.op === Op.DeleteMany && s.server === b && !fleet.log.includes("commit")) {
      rounds.push(s.keys);
      fleet.write(moved[next++]!); // as fast as rounds repair them
      setImmediate(() => s.attempt.succeed(true));
    } else if (s.op === Op.DeleteMany) held.push(s);
    else setImmediate(() => s.attempt.succeed(true));
  };
  const changed = fleet.membership.setServers([A, B], "C leaves");
  await until(() => held.length === 1, "the deletes after the commit");
  return { held, changed, rounds };
}

describe("Freshness: the last repair round of a list change", () => {
  it("writes arriving as fast as rounds repair them: it commits in the step of the last look; what is left is deleted just after", async () => {
    const { held, changed, rounds } = await lastRoundUnderWay();
    const b = fleet.server(2);
    assert.ok(rounds.length > 1 && rounds.length < 40, `bounded rounds (${rounds.length})`);
    const log = logOf(fleet, Op.DeleteMany);
    // Every round before the commit, then the commit with the last round's delete in its own step.
    assert.deepEqual(log.slice(rounds.length), ["commit", `DeleteMany ${b.label}`, "commit step ended"]);
    assert.equal(held[0]!.server, b);
    assert.equal(held[0]!.keys.length, 1, "what the last look found");
    assert.equal(
      fleet.membership.server("10.0.0.3:11211"),
      undefined,
      "the list had changed when it was sent",
    );
    await changed; // the change does not wait for them
    assert.equal(fleet.freshness.nothingToGuard, false, "reads there must look");
    held[0]!.attempt.succeed(true);
    await until(() => fleet.freshness.nothingToGuard, "the deletes' end");
  });

  it("a read that waits for a repair: held while the change's last deletes run on its server, then sent within its deadline", async () => {
    const { held } = await lastRoundUnderWay();
    const [a, b] = [fleet.server(1), fleet.server(2)];
    const sent: CallAttempt[] = [];
    const read = readAttempt(b, "any key", { timeout: 10_000 });
    assert.equal(
      fleet.freshness.hold(read.a, b, (x) => sent.push(x)),
      true,
    );
    const elsewhere = readAttempt(a, "any key");
    assert.equal(
      fleet.freshness.hold(elsewhere.a, a, () => undefined),
      false,
      "only reads on that server wait",
    );
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(sent, [], "not sent while the deletes run");
    held[0]!.attempt.succeed(true);
    await until(() => sent.length === 1, "the read sent");
    assert.equal(sent[0], read.a);
    assert.equal(read.outcome.settled, false);
    assert.ok(read.a.deadline > performance.now(), "sent with its deadline kept");
  });

  it("a read that waits for a repair past its deadline fails with TimeoutError naming the repair, and is never sent", async () => {
    const { held } = await lastRoundUnderWay();
    const b = fleet.server(2);
    const sent: CallAttempt[] = [];
    const read = readAttempt(b, "any key", { timeout: 20 });
    assert.equal(
      fleet.freshness.hold(read.a, b, (x) => sent.push(x)),
      true,
    );
    await until(() => read.outcome.settled, "the read's timeout");
    assert.ok(read.outcome.error instanceof TimeoutError);
    assert.match(
      (read.outcome.error as Error).message,
      /10\.0\.0\.2:11211 was still being repaired after a change of the server list/,
    );
    held[0]!.attempt.succeed(true);
    await until(() => fleet.freshness.nothingToGuard, "the deletes' end");
    assert.deepEqual(sent, []);
  });
});

describe("Freshness: a server that comes back to the list", () => {
  it("is flushed before it joins (it may hold values older than the writes made since it left)", async () => {
    ({ fleet } = await joined(1));
    await fleet.membership.setServers([A, B], "C leaves");
    assert.equal(fleet.sentOf(Op.Flush).length, 0);
    await fleet.membership.setServers([A, B, C], "C is back");
    const c = fleet.server(3);
    assert.deepEqual(logOf(fleet, Op.Flush).slice(-3), [`Flush ${c.label}`, "commit", "commit step ended"]);
    assert.equal(fleet.freshness.flushes, 1);
    assert.match(fleet.flushed[0]![1], /left the server list earlier and came back \(C is back\)/);
    assert.equal(c.state, "up");
  });

  it("whose flush fails joins down, and its return flushes it before it serves", async () => {
    ({ fleet } = await joined(1));
    await fleet.membership.setServers([A, B], "C leaves");
    fleet.answer = (s) => setImmediate(() => s.attempt.fail(new Error("no answer")));
    await fleet.membership.setServers([A, B, C], "C is back");
    const c = fleet.server(3);
    assert.notEqual(c.state, "up");
    assert.equal(fleet.freshness.flushes, 0);
    fleet.answer = (s) => setImmediate(() => s.attempt.succeed(true));
    await fleet.freshness.rejoin(c);
    assert.equal(fleet.sentOf(Op.Flush, c).length, 2);
    assert.equal(fleet.freshness.flushes, 1);
    assert.equal(c.state, "up");
  });
});
