import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BenchResults, renderReport, summarize } from "../../bench/report.ts";
import type { Sample } from "../../bench/workloads.ts";

const WORKLOADS = [
  "sequential get",
  "256 concurrent gets (100 B)",
  "256 concurrent sets (1 KiB)",
  "getMany 100 keys ×8",
  "getMany 100 keys ×1",
];

/** Medians of a full run (bench/results/latest.json of 2026-11-26), one per workload, plus a --base row. */
const OPS: Record<string, number[]> = {
  memcachio: [35_809, 568_063, 334_644, 616_115, 535_236],
  "memcachio @HEAD~1": [34_500, 550_321, 320_004, 600_777, 512_310],
  "memcachio binary": [35_826, 740_082, 308_427, 660_043, 547_649],
  "memcachio tls": [26_681, 715_816, 219_930, 552_564, 488_312],
  "memcachio unix": [39_016, 883_236, 312_521, 763_612, 771_495],
  "memcachio text": [32_342, 346_749, 329_786, 769_910, 685_139],
  "memcachio twemproxy": [18_965, 174_482, 140_680, 568_671, 401_694],
  memjs: [30_205, 121_838, 75_718, 103_755, 104_718],
  memcached: [29_587, 92_808, 51_847, 198_745, 150_127],
  "memcache-client": [28_154, 84_371, 115_893, 195_932, 153_092],
  "minimal client": [32_084, 763_018, 347_555, 666_996, 689_471],
  "raw batches": [38_011, 866_308, 390_540, 857_544, 803_348],
  "raw window": [33_748, 777_080, 300_718, 1_045_876, 787_714],
};

/** Three samples per contender and workload around each median; latencies for the sequential workload. */
function resultsOf(ops: Record<string, number[]>): BenchResults {
  const names = Object.keys(ops);
  const samples = new Map<string, Sample[]>();
  for (const [n, perWorkload] of Object.entries(ops)) {
    WORKLOADS.forEach((w, i) => {
      const x = perWorkload[i]!;
      const latency = (f: number) => (w === "sequential get" ? { p50: 1e6 / x / f, p99: 2.5e6 / x / f } : {});
      samples.set(
        `${w}|${n}`,
        [0.9, 1, 1.1].map((f) => ({ opsPerSec: x * f, ...latency(f) })),
      );
    });
  }
  return {
    date: "2026-11-26T18:04:39.590Z",
    node: "v20.20.2",
    memcached: "1.6.18",
    cpus: 2,
    cpu: "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz",
    runMs: 1000,
    rounds: 3,
    rows: summarize(samples, names, WORKLOADS),
    failures: { memjs: 3 },
  };
}

const full = resultsOf(OPS);

describe("bench report: the printed table", () => {
  const report = renderReport(full);
  const lines = report.split("\n");

  it("fits 100 columns", () => {
    const wide = lines.filter((l) => l.length > 100);
    assert.deepEqual(wide, []);
  });

  it("speaks plain words: no internal jargon", () => {
    assert.doesNotMatch(report, /issue/i);
    assert.doesNotMatch(report, /A\/B/);
  });

  it("names every contender and every workload", () => {
    for (const n of Object.keys(OPS)) assert.ok(report.includes(n), `no ${n}`);
    for (const w of WORKLOADS) assert.ok(report.includes(w), `no ${w}`);
  });

  it("says what each reference means to a user", () => {
    assert.match(report, /raw batches +no client: pre-formatted request bytes written in batches/);
    assert.match(report, /the most a Node process can push through one\s+connection/);
    assert.match(report, /minimal client +a bare promise-per-request meta client with no features/);
    assert.match(report, /the floor of any real client/);
  });

  it("keeps every throughput and latency figure of the run", () => {
    for (const r of full.rows) {
      assert.ok(
        report.includes(Math.round(r.opsPerSec).toLocaleString("en-US")),
        `${r.client} ${r.workload}`,
      );
      if (r.p50 !== undefined) assert.ok(report.includes(r.p50.toFixed(1)), `p50 of ${r.client}`);
      if (r.p99 !== undefined) assert.ok(report.includes(r.p99.toFixed(1)), `p99 of ${r.client}`);
    }
  });

  it("compares memcachio with the fastest other client and each reference, as percentages", () => {
    const concurrentGets = lines.find((l) => l.startsWith("256 gets ") && l.includes("memjs"));
    assert.ok(concurrentGets !== undefined, "no comparison line for 256 concurrent gets");
    const [mine, peer, minimal, raw] = [
      OPS.memcachio![1]!,
      OPS.memjs![1]!,
      OPS["minimal client"]![1]!,
      OPS["raw batches"]![1]!,
    ];
    assert.ok(concurrentGets.includes(`${(mine / peer).toFixed(2)}×`), concurrentGets);
    assert.ok(concurrentGets.includes(`${((mine / minimal) * 100).toFixed(0)} %`), concurrentGets);
    assert.ok(concurrentGets.includes(`${((mine / raw) * 100).toFixed(0)} %`), concurrentGets);
  });

  it("reports failed calls", () => {
    assert.match(report, /memjs had 3 failed calls/);
  });
});

describe("bench report: summarize", () => {
  it("divides by the fastest peer and by each reference; the references have no peer ratio", () => {
    const row = (w: string, n: string) => full.rows.find((r) => r.workload === w && r.client === n)!;
    const sets = "256 concurrent sets (1 KiB)";
    const mine = row(sets, "memcachio");
    assert.equal(mine.opsPerSec, OPS.memcachio![2]);
    assert.equal(mine.vsBestPeer, OPS.memcachio![2]! / OPS["memcache-client"]![2]!);
    assert.equal(mine.vsMinimal, OPS.memcachio![2]! / OPS["minimal client"]![2]!);
    assert.equal(mine.vsRawBatches, OPS.memcachio![2]! / OPS["raw batches"]![2]!);
    assert.equal(row(sets, "raw batches").vsBestPeer, undefined);
    assert.equal(row(sets, "minimal client").vsBestPeer, undefined);
  });

  it("takes the shares of the references round by round, and the median of an even count as the mean of the middle two", () => {
    const w = "256 concurrent gets (100 B)";
    // The machine slows down over the run: medians taken apart would compare different spells.
    const samples = new Map<string, Sample[]>([
      [`${w}|memcachio`, [100, 200, 300, 400].map((opsPerSec) => ({ opsPerSec }))],
      [`${w}|minimal client`, [110, 190, 330, 420].map((opsPerSec) => ({ opsPerSec }))],
      [`${w}|raw batches`, [200, 400, 600, 800].map((opsPerSec) => ({ opsPerSec }))],
    ]);
    const rows = summarize(samples, ["memcachio", "minimal client", "raw batches"], [w]);
    const mine = rows.find((r) => r.client === "memcachio")!;
    assert.equal(mine.opsPerSec, 250);
    const perRound = [100 / 110, 200 / 190, 300 / 330, 400 / 420].sort((a, b) => a - b);
    assert.equal(mine.vsMinimal, (perRound[1]! + perRound[2]!) / 2);
    assert.notEqual(mine.vsMinimal, 250 / 260, "not the ratio of the medians");
    assert.equal(mine.vsRawBatches, 0.5);
    assert.equal(mine.vsRawWindow, undefined, "raw window did not run");
    assert.match(renderReport({ ...full, rows }), new RegExp(`${Math.round(mine.vsMinimal! * 100)} %`));
  });
});

describe("bench report: CPU time per operation", () => {
  const w = "getMany 100 keys ×1";
  const samples = new Map<string, Sample[]>([
    [`${w}|memcachio`, [1.0, 2.0, 1.2, 1.6].map((cpuUs) => ({ opsPerSec: 100, cpuUs }))],
    [`${w}|minimal client`, [0.8, 2.5, 1.0, 1.0].map((cpuUs) => ({ opsPerSec: 110, cpuUs }))],
    [`${w}|memjs`, [9, 9, 9, 9].map((cpuUs) => ({ opsPerSec: 10, cpuUs }))],
  ]);
  const rows = summarize(samples, ["memcachio", "minimal client", "memjs"], [w]);
  const mine = rows.find((r) => r.client === "memcachio")!;

  it("pairs each round's CPU per operation with the minimal client's, and takes the median", () => {
    assert.equal(mine.cpuUs, (1.2 + 1.6) / 2);
    const perRound = [1.0 / 0.8, 2.0 / 2.5, 1.2 / 1.0, 1.6 / 1.0].sort((a, b) => a - b);
    assert.equal(mine.cpuVsMinimal, (perRound[1]! + perRound[2]!) / 2);
    assert.equal(rows.find((r) => r.client === "minimal client")!.cpuVsMinimal, undefined, "a reference");
  });

  it("prints a table of both clients' CPU per operation and the ratio, within 100 columns", () => {
    const report = renderReport({ ...full, rows });
    const line = report.split("\n").find((l) => l.startsWith("getMany ×1") && l.includes(" 1.40 "));
    assert.ok(line !== undefined, report);
    assert.ok(line.includes(`${mine.cpuVsMinimal!.toFixed(2)}×`), line);
    assert.ok(line.includes(" 1.00 "), `the minimal client's median: ${line}`);
    assert.ok(report.split("\n").every((l) => l.length <= 100));
  });

  it("prints no CPU table for a run without the measurement", () => {
    assert.doesNotMatch(renderReport(full), /CPU time per operation/);
  });
});
