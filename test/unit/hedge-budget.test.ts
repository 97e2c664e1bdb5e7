import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HedgeBudget } from "../../src/cluster/hedge-budget.ts";

describe("hedge budget over a time window", () => {
  it("a quiet client has the reserve: minPerSecond × the window's seconds, then no more", () => {
    const b = new HedgeBudget(0.05, 10_000, 1, 0);
    let sent = 0;
    while (b.withdraw(1) && sent < 100) sent++;
    assert.equal(sent, 10);
    assert.equal(b.withdraw(5_000), false, "still within the window");
    assert.equal(b.withdraw(11_001), true, "the window has moved past those hedges");
  });

  it("a stall spends at once what the window's reads earned (a bucket capped at 1,000 reads' worth gave 50)", () => {
    const b = new HedgeBudget(0.05, 10_000, 0, 0);
    // 5,000 reads a second for ten seconds.
    for (let ms = 0; ms < 10_000; ms++) for (let i = 0; i < 5; i++) b.deposit(ms);
    let sent = 0;
    while (sent < 200 && b.withdraw(10_000)) sent++;
    assert.equal(sent, 200);
    assert.ok(b.available(10_000) > 2_000);
  });

  it("deposits older than the window are forgotten", () => {
    const b = new HedgeBudget(0.5, 1_000, 0, 0);
    for (let i = 0; i < 10; i++) b.deposit(0);
    assert.equal(b.available(900), 5);
    assert.equal(b.available(1_100), 0);
    assert.equal(b.withdraw(1_100), false);
  });

  it("over any window that ends with a hedge, and over the whole run, hedges stay within the reads' share plus the reserve", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const windowMs = 1_000;
    const slotMs = windowMs / 10;
    const share = 0.05;
    const reserve = 2; // minPerSecond 2 over one second
    const b = new HedgeBudget(share, windowMs, 2, 0);
    const reads = new Float64Array(600);
    const hedges = new Float64Array(600);
    for (let ms = 0; ms < 60_000; ms++) {
      const slot = Math.floor(ms / slotMs);
      // Traffic that comes and goes; a stall now and then asks for a hedge of every read.
      const rate = ms % 7_000 < 3_000 ? 4 : random() < 0.05 ? 1 : 0;
      const stalled = ms % 2_500 < 200;
      for (let i = 0; i < rate; i++) {
        b.deposit(ms);
        reads[slot]!++;
        if ((stalled || random() < 0.01) && b.withdraw(ms)) hedges[slot]!++;
      }
    }
    for (let end = 10; end <= 600; end++) {
      if (hedges[end - 1] === 0) continue;
      let r = 0;
      let h = 0;
      for (let s = end - 10; s < end; s++) {
        r += reads[s]!;
        h += hedges[s]!;
      }
      assert.ok(h <= share * r + reserve + 1e-9, `slots ${end - 10}–${end}: ${h} hedges for ${r} reads`);
    }
    const total = hedges.reduce((x, y) => x + y, 0);
    const allReads = reads.reduce((x, y) => x + y, 0);
    assert.ok(total > 100, "the stalls were hedged");
    assert.ok(total <= share * allReads + 2 * 60, `${total} hedges for ${allReads} reads over 60 s`);
  });
});
