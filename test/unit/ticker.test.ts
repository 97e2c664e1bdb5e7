import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  cancelWake,
  slotsInUse,
  TICK_MS,
  tickerActive,
  Wake,
  wakeAt,
  wakeNextTick,
} from "../../src/util/ticker.ts";
import { until } from "../support/fake-fleet.ts";

/** A member that records the `now` of each visit and runs `then` after it. */
function member(then: (w: Wake, now: number) => void = () => {}): { wake: Wake; visits: number[] } {
  const visits: number[] = [];
  const wake: Wake = new Wake({
    onTick(now) {
      visits.push(now);
      then(wake, now);
    },
  });
  return { wake, visits };
}

describe("shared ticker (util/ticker.ts)", () => {
  it("visits a wake at its moment, not on every tick before it: a tick costs what is due", async () => {
    // Far enough ahead that ticks come before it even while the machine is busy; what is checked
    // is what happened on those ticks, not how many there were in a given time. Each tick visits at
    // least one slot, so ticks that come a little early put the ticker a slot or two ahead of the
    // clock: the ticks looked at end a few slots before its moment.
    const later = member();
    const at = performance.now() + 300;
    const EARLY = 5 * TICK_MS;
    const laterVisitsAtEarlierTicks: number[] = [];
    const everyTick = member((w, now) => {
      if (now < at - EARLY) laterVisitsAtEarlierTicks.push(later.visits.length);
      wakeNextTick(w);
    });
    wakeNextTick(everyTick.wake);
    wakeAt(later.wake, at);
    try {
      await until(() => later.visits.length > 0, "the later wake");
      const n = laterVisitsAtEarlierTicks.length;
      assert.ok(n >= 1, "ticks went by before its moment");
      assert.deepEqual(
        laterVisitsAtEarlierTicks,
        Array(n).fill(0),
        `not visited on the ${n} ticks before its moment`,
      );
      assert.equal(later.visits.length, 1, "visited once, at its moment");
      assert.ok(
        later.visits[0]! >= at - EARLY,
        "at most a few slots early (the member checks the time itself)",
      );
    } finally {
      cancelWake(everyTick.wake);
    }
  });

  it("a wake filed again for earlier is visited then, once; a cancelled one never", async () => {
    const moved = member();
    const cancelled = member();
    const start = performance.now();
    // Moments far apart, so that a busy machine's late ticks cannot blur them.
    wakeAt(moved.wake, start + 400);
    wakeAt(moved.wake, start + 10);
    wakeAt(moved.wake, start + 800); // later than filed: changes nothing
    wakeAt(cancelled.wake, start + 10);
    cancelWake(cancelled.wake);
    await until(() => performance.now() > start + 450 && !tickerActive(), "the timer to stop");
    assert.equal(moved.visits.length, 1, "the entries it left in later slots are skipped");
    assert.ok(moved.visits[0]! < start + 400, "visited at the earlier moment");
    assert.equal(cancelled.visits.length, 0);
  });

  it("a wake filed during a visit goes to a later tick, never the one under way", async () => {
    let left = 3;
    const again = member((w) => {
      if (--left > 0) wakeAt(w, 0); // a moment long past: the next tick
    });
    wakeNextTick(again.wake);
    await until(() => again.visits.length === 3, "three visits");
    for (let i = 1; i < again.visits.length; i++) {
      assert.ok(again.visits[i]! > again.visits[i - 1]!, "each visit in a tick of its own");
    }
  });

  it("a member that throws does not keep the others from their visits", async () => {
    const throwing = member(() => {
      throw new Error("member failure");
    });
    const other = member();
    wakeNextTick(throwing.wake);
    wakeNextTick(other.wake);
    try {
      await until(() => other.visits.length === 1, "the other member's visit");
      assert.ok(throwing.visits.length >= 1);
    } finally {
      cancelWake(throwing.wake); // it throws at every look: it would get one at every tick
    }
  });

  it("runs its timer only while a wake is filed", async () => {
    await until(() => !tickerActive(), "an idle ticker");
    const m = member();
    wakeAt(m.wake, performance.now() + 10_000);
    assert.equal(tickerActive(), true, "armed for a filed wake");
    cancelWake(m.wake);
    await until(() => !tickerActive(), "the timer to stop after the wake was cancelled");
    wakeAt(m.wake, Number.POSITIVE_INFINITY);
    assert.equal(tickerActive(), false, "a wake that never comes files nothing");
    assert.equal(m.visits.length, 0);
  });

  it("a wake filed again for earlier, or cancelled, leaves its old slot (nothing piles up while the timer runs)", async () => {
    await until(() => !tickerActive(), "an idle ticker");
    const wakes = Array.from({ length: 50 }, () => member());
    const later = performance.now() + 60_000;
    for (const [i, m] of wakes.entries()) wakeAt(m.wake, later + i * TICK_MS);
    assert.equal(slotsInUse(), 50);
    for (const m of wakes) wakeNextTick(m.wake);
    assert.equal(slotsInUse(), 1, "all in the next tick's slot; the far ones are gone");
    for (const m of wakes) cancelWake(m.wake);
    assert.equal(slotsInUse(), 0);
    await until(() => !tickerActive(), "the timer to stop");
    assert.ok(wakes.every((m) => m.visits.length === 0));
  });

  it("a member that throws before filing its next wake gets another look at the next tick", async () => {
    let throws = true;
    const flaky = member(() => {
      if (throws) {
        throws = false;
        throw new Error("member failure");
      }
    });
    wakeNextTick(flaky.wake);
    await until(() => flaky.visits.length === 2, "a second visit");
    assert.ok(flaky.visits[1]! > flaky.visits[0]!);
  });
});
