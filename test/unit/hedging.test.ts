/**
 * Hedged reads: where a hedge goes (`hedgeTarget`: the next replica, never one that may hold a stale
 * copy while a server is away), and when the Hedger sends one (after a fixed delay or the server's
 * p95, within the budget), and what happens to the pair.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { SETTLED } from "../../src/connection/attempt.ts";
import type { CallAttempt } from "../../src/cluster/call.ts";
import { type HedgeOptions, Hedger, hedgeTarget } from "../../src/cluster/hedging.ts";
import { addr, FakeFleet, keysWhere, readAttempt, setFrame, until } from "../support/fake-fleet.ts";

const down = new Error("down for the test");
let fleet: FakeFleet;
let hedger: Hedger | null = null;
afterEach(async () => {
  hedger?.close();
  hedger = null;
  await fleet.close();
});

const labels = (f: FakeFleet, k: string) => f.membership.replicasOf(k).map((s) => s.label);

describe("hedgeTarget", () => {
  it("sends the hedge of a read to the key's next replica not tried", () => {
    fleet = new FakeFleet(
      [1, 2, 3].map((n) => addr(n)),
      { replicas: 2 },
    );
    const m = fleet.membership;
    for (const k of keysWhere(50, () => true)) {
      const [r0, r1] = m.replicasOf(k);
      assert.equal(hedgeTarget(readAttempt(r0!, k).a, m, fleet.freshness, [r0!]), r1, k);
    }
  });

  it("refuses a next replica that may be stale while a server is away (its miss would win the race)", async () => {
    fleet = new FakeFleet(
      [1, 2, 3].map((n) => addr(n)),
      { replicas: 2 },
    );
    const m = fleet.membership;
    const third = fleet.server(3);
    const k = keysWhere(1, (x) => !labels(fleet, x).includes(third.label))[0]!;
    const [r0, r1] = m.replicasOf(k);
    fleet.answer = () => undefined; // the repair in place stays under way
    fleet.freshness.noteFailedWrite(r1!, setFrame("other"), () => "other", new Error("reset"));
    const a = readAttempt(r0!, k).a;
    assert.equal(hedgeTarget(a, m, fleet.freshness, [r0!]), r1, "all up: the guard on the read suffices");
    third.markDown(down);
    assert.equal(hedgeTarget(a, m, fleet.freshness, [r0!]), undefined);
  });

  it("sends a batch share's hedge to the one next server of all its keys, and none when they differ", () => {
    fleet = new FakeFleet(
      [1, 2, 3, 4].map((n) => addr(n)),
      { replicas: 2 },
    );
    const m = fleet.membership;
    const [k1] = keysWhere(1, () => true);
    const [r0, r1] = m.replicasOf(k1!);
    const same = keysWhere(2, (x) => labels(fleet, x).join() === [r0!.label, r1!.label].join());
    const other = keysWhere(1, (x) => labels(fleet, x)[0] === r0!.label && labels(fleet, x)[1] !== r1!.label);
    assert.equal(hedgeTarget(readAttempt(r0!, same).a, m, fleet.freshness, [r0!]), r1);
    assert.equal(hedgeTarget(readAttempt(r0!, [...same, ...other]).a, m, fleet.freshness, [r0!]), undefined);
  });
});

describe("Hedger", () => {
  const options = (o: Partial<HedgeOptions> = {}): HedgeOptions => ({
    after: 5,
    maxExtraLoad: 0.5,
    budgetWindow: 1000,
    minPerSecond: 10,
    ...o,
  });
  const setup = (o: Partial<HedgeOptions>, fire: (a: CallAttempt) => boolean = () => true) => {
    fleet = new FakeFleet([addr(1), addr(2)], { replicas: 2 });
    const fired: CallAttempt[] = [];
    hedger = new Hedger(options(o), (a) => {
      fired.push(a);
      return fire(a);
    });
    return { fired, h: hedger, s: fleet.server(1) };
  };
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("hedges a watched read that has not answered after `after`, and counts it", async () => {
    const { fired, h, s } = setup({ after: 5 });
    const { a } = readAttempt(s, "k");
    h.watch(a);
    await until(() => fired.length === 1, "the hedge");
    assert.equal(fired[0], a);
    assert.deepEqual(h.counts, { sent: 1, won: 0, budgetExhausted: 0 });
  });

  it("does not hedge a read that answered first, nor one whose `after` is not before its deadline", async () => {
    const { fired, h, s } = setup({ after: 5 });
    const answered = readAttempt(s, "k");
    h.watch(answered.a);
    answered.a.succeed("v");
    h.watch(readAttempt(s, "k", { timeout: 5 }).a);
    await wait(30);
    assert.deepEqual(fired, []);
    assert.equal(h.counts.sent, 0);
  });

  it("with p95, hedges no read before the server's latencies are known, then after their p95", async () => {
    const { fired, h, s } = setup({ after: "p95" });
    assert.equal(h.sampling, true);
    h.watch(readAttempt(s, "early").a);
    await wait(20);
    assert.deepEqual(fired, [], "p95 unknown: no hedge");
    for (let i = 0; i < 32; i++) h.sample(s, 2);
    const { a } = readAttempt(s, "later");
    h.watch(a);
    assert.ok(a.hedgeAt > 0, "watched");
    await until(() => fired.length === 1, "the hedge");
    assert.equal(fired[0], a);
    h.watch(readAttempt(fleet.server(2), "elsewhere").a);
    await wait(20);
    assert.equal(fired.length, 1, "another server's p95 is its own (unknown)");
  });

  it("sends no hedge past its budget: counted as budgetExhausted", async () => {
    const { fired, h, s } = setup({ after: 1, maxExtraLoad: 0, minPerSecond: 0 });
    const { a } = readAttempt(s, "k");
    h.watch(a);
    await until(() => h.counts.budgetExhausted === 1, "the refusal");
    assert.deepEqual(fired, []);
    assert.equal(h.counts.sent, 0);
  });

  it("a hedge with nowhere to go spends no budget", async () => {
    let first = true;
    const nowhere = () => {
      const ok = !first;
      first = false;
      return ok;
    };
    // A reserve of exactly one hedge, and reads earn none.
    const { fired, h, s } = setup(
      { after: 1, maxExtraLoad: 0, minPerSecond: 1, budgetWindow: 1000 },
      nowhere,
    );
    h.watch(readAttempt(s, "k1").a);
    await until(() => fired.length === 1, "the first try");
    h.watch(readAttempt(s, "k2").a);
    await until(() => fired.length === 2, "the second try");
    assert.deepEqual(h.counts, { sent: 1, won: 0, budgetExhausted: 0 });
  });

  it("the first answer of a hedged pair wins: the other is given up on; a winning hedge is counted", () => {
    const { h, s } = setup({ after: 5 });
    const pair = () => {
      const first = readAttempt(s, "k").a;
      const hedge = readAttempt(fleet.server(2), "k").a;
      hedge.isHedge = true;
      first.rival = hedge;
      hedge.rival = first;
      return [first, hedge] as const;
    };
    const [first, hedge] = pair();
    hedge.succeed("v");
    h.won(hedge);
    assert.equal(first.state, SETTLED);
    assert.equal(first.rival, null);
    assert.equal(h.counts.won, 1);
    const [first2, hedge2] = pair();
    first2.succeed("v");
    h.won(first2);
    assert.equal(hedge2.state, SETTLED);
    assert.equal(h.counts.won, 1, "the first try winning is no hedge won");
  });

  it("a failed one of a hedged pair leaves the other to carry the read on, unless it has settled", () => {
    const { h, s } = setup({ after: 5 });
    const first = readAttempt(s, "k").a;
    const hedge = readAttempt(fleet.server(2), "k").a;
    first.rival = hedge;
    hedge.rival = first;
    first.fail(new Error("reset"));
    assert.equal(h.rivalCarriesOn(first), true);
    const a = readAttempt(s, "k2").a;
    const b = readAttempt(fleet.server(2), "k2").a;
    a.rival = b;
    b.rival = a;
    b.fail(new Error("reset"));
    a.fail(new Error("reset"));
    assert.equal(h.rivalCarriesOn(a), false);
  });

  it("once closed, reads waiting are not hedged", async () => {
    const { fired, h, s } = setup({ after: 5 });
    h.watch(readAttempt(s, "k").a);
    h.close();
    await wait(20);
    assert.deepEqual(fired, []);
  });
});
