/**
 * The bench's SVG chart (`bench/chart-svg.ts`), read back from its text: a bar and its label are one
 * figure, a whisker spans the rounds, and each reference line crosses only the rows it bounds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderChart } from "../../bench/chart-svg.ts";
import { type BenchResults, isMetaOverTcp, summarize } from "../../bench/report.ts";
import type { Sample } from "../../bench/workloads.ts";

const WORKLOADS = ["sequential get", "256 concurrent gets (100 B)", "getMany 100 keys ×8"];

/** Medians per workload, in the shape of a full run with a --base row. */
const OPS: Record<string, number[]> = {
  memcachio: [35_809, 568_063, 616_115],
  "memcachio @HEAD~1": [34_500, 550_321, 600_777],
  "memcachio binary": [35_826, 740_082, 660_043],
  "memcachio tls": [26_681, 715_816, 552_564],
  "memcachio unix": [39_016, 1_283_236, 1_763_612],
  "memcachio text": [32_342, 346_749, 969_910],
  "memcachio twemproxy": [18_965, 174_482, 568_671],
  memjs: [30_205, 121_838, 103_755],
  memcached: [29_587, 92_808, 198_745],
  "memcache-client": [28_154, 84_371, 195_932],
  "minimal client": [32_084, 763_018, 666_996],
  "raw batches": [38_011, 866_308, 857_544],
  "raw window": [33_748, 777_080, 1_045_876],
};
const NAMES = Object.keys(OPS);

/** Four rounds around each median, uneven: the slowest 20 % under it, the fastest 15 % over. */
const ROUND_FACTORS = [0.8, 0.97, 1.03, 1.15];

function resultsOf(samples: Map<string, Sample[]>, names: string[], workloads: string[]): BenchResults {
  return {
    date: "2026-11-26T18:04:39.590Z",
    node: "v20.20.2",
    memcached: "1.6.18",
    cpus: 2,
    runMs: 1000,
    rounds: [...samples.values()][0]?.length ?? 0,
    rows: summarize(samples, names, workloads),
    failures: {},
    samples: Object.fromEntries(samples),
  };
}

const full = resultsOf(
  new Map(
    NAMES.flatMap((n) =>
      WORKLOADS.map((w, i): [string, Sample[]] => [
        `${w}|${n}`,
        ROUND_FACTORS.map((f) => ({ opsPerSec: OPS[n]![i]! * f })),
      ]),
    ),
  ),
  NAMES,
  WORKLOADS,
);
const medianOf = (w: string, n: string) =>
  full.rows.find((r) => r.workload === w && r.client === n)!.opsPerSec;
const roundsOf = (w: string, n: string) => full.samples![`${w}|${n}`]!.map((s) => s.opsPerSec);

/** What one panel of the chart draws, its rows in order. */
interface Panel {
  bars: { x: number; y: number; width: number }[];
  spreads: { from: number; to: number }[];
  /** The value labels, read back as numbers (`568 k` → 568000). */
  values: number[];
  ceilings: { x: number; y1: number; y2: number }[];
  floors: { x: number; y1: number; y2: number }[];
}

/** Reads back each panel of `svg`: its bars, whiskers, value labels and reference lines. */
function panelsOf(svg: string): Panel[] {
  const n = Number;
  return svg
    .split('<g class="panel">')
    .slice(1)
    .map((g) => {
      const body = g.slice(0, g.indexOf("</g>"));
      const marks = (cls: string) =>
        [
          ...body.matchAll(
            new RegExp(`<line class="${cls}" x1="([\\d.]+)" y1="([\\d.]+)" x2="[\\d.]+" y2="([\\d.]+)"`, "g"),
          ),
        ].map((m) => ({ x: n(m[1]), y1: n(m[2]), y2: n(m[3]) }));
      const bar = /<rect class="bar" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"/g;
      const spread = /<path class="spread" d="M([\d.]+),[\d.]+V[\d.]+M[\d.]+,[\d.]+H([\d.]+)/g;
      const value = /<text [^>]*class="value"[^>]*>([\d.]+)(?: ([kM]))?<\/text>/g;
      return {
        bars: [...body.matchAll(bar)].map((m) => ({ x: n(m[1]), y: n(m[2]), width: n(m[3]) })),
        spreads: [...body.matchAll(spread)].map((m) => ({ from: n(m[1]), to: n(m[2]) })),
        values: [...body.matchAll(value)].map((m) => n(m[1]) * (m[2] === "M" ? 1e6 : m[2] === "k" ? 1e3 : 1)),
        ceilings: marks("ceiling"),
        floors: marks("floor"),
      };
    });
}

/** Pixels per operation a second in panel `p`, from its longest bar (the most precise). */
function scaleOf(p: Panel, w: string): number {
  const longest = p.bars.reduce((a, b) => (b.width > a.width ? b : a));
  return longest.width / medianOf(w, NAMES[p.bars.indexOf(longest)]!);
}

/** Problems with the tags of `xml`: closings that do not match, openings never closed, stray `<` or `&`. */
function tagProblems(xml: string): string[] {
  const problems: string[] = [];
  const open: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)(?:\s+[\w:-]+="[^"<]*")*\s*(\/?)>/g;
  for (const [, closing, name, selfClosing] of xml.matchAll(tag)) {
    if (selfClosing === "/") continue;
    if (closing === "/") {
      const expected = open.pop();
      if (expected !== name) problems.push(`</${name}> closes <${expected}>`);
    } else open.push(name!);
  }
  problems.push(...open.map((n) => `<${n}> never closed`));
  const outside = xml.replace(tag, "");
  if (outside.includes("<") || outside.includes(">")) problems.push("a < or > outside a well-formed tag");
  if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(xml)) problems.push("an & that is no entity");
  return problems;
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

describe("bench chart: the SVG", () => {
  const svg = renderChart(full);

  it("is well-formed, with balanced tags", () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.deepEqual(tagProblems(svg), []);
  });

  it("names every contender and every workload", () => {
    for (const n of NAMES) assert.ok(svg.includes(`>${escapeXml(n)}<`), `no ${n}`);
    for (const w of WORKLOADS) assert.ok(svg.includes(`>${escapeXml(w)}<`), `no ${w}`);
  });

  it("reads on light and dark pages alike, and loads nothing", () => {
    assert.match(svg, /<rect width="\d+" height="[\d.]+" fill="#ffffff"\/>/);
    assert.doesNotMatch(svg, /<script|href=|@import|url\(/);
  });

  it("draws a run of some contenders only, without the references", () => {
    const some = ["memcachio", "memjs"];
    const partial = renderChart(
      resultsOf(new Map(some.map((n) => [`${WORKLOADS[1]}|${n}`, [{ opsPerSec: OPS[n]![1]! }]])), some, [
        WORKLOADS[1]!,
      ]),
    );
    assert.deepEqual(tagProblems(partial), []);
    assert.doesNotMatch(partial, /NaN|Infinity/);
    assert.doesNotMatch(partial, /class="(legend-)?(ceiling|floor)"|memcachio ÷/);
  });
});

describe("bench chart: a bar, its label and its whisker are one figure", () => {
  const panels = panelsOf(renderChart(full));

  it("draws every contender in every workload: a bar, a whisker and a label each", () => {
    assert.equal(panels.length, WORKLOADS.length);
    for (const p of panels) {
      assert.equal(p.bars.length, NAMES.length);
      assert.equal(p.spreads.length, NAMES.length);
      assert.equal(p.values.length, NAMES.length);
    }
  });

  it("draws a bar's length in proportion to the number on its label, in every panel", () => {
    panels.forEach((p, i) => {
      const longest = p.bars.reduce((a, b) => (b.width > a.width ? b : a));
      const perUnit = longest.width / p.values[p.bars.indexOf(longest)]!;
      p.bars.forEach((bar, j) => {
        // The labels keep three significant figures, the coordinates one decimal.
        const expected = perUnit * p.values[j]!;
        assert.ok(Math.abs(bar.width - expected) <= 0.006 * expected + 0.15, `${WORKLOADS[i]}, ${NAMES[j]}`);
      });
    });
  });

  it("labels each bar with the median throughput over the rounds, the figure the report prints", () => {
    panels.forEach((p, i) => {
      NAMES.forEach((n, j) => {
        const median = medianOf(WORKLOADS[i]!, n);
        assert.ok(Math.abs(p.values[j]! - median) <= 0.005 * median, `${WORKLOADS[i]}, ${n}`);
      });
    });
  });

  it("spans each whisker from the slowest round to the fastest, on the bar's scale", () => {
    panels.forEach((p, i) => {
      const w = WORKLOADS[i]!;
      const perUnit = scaleOf(p, w);
      NAMES.forEach((n, j) => {
        const { from, to } = p.spreads[j]!;
        const { x, width } = p.bars[j]!;
        assert.ok(Math.abs(from - (x + perUnit * Math.min(...roundsOf(w, n)))) <= 0.2, `${w}, ${n}: ${from}`);
        assert.ok(Math.abs(to - (x + perUnit * Math.max(...roundsOf(w, n)))) <= 0.2, `${w}, ${n}: ${to}`);
        assert.ok(from < x + width && x + width < to, `${w}, ${n}: the median within its rounds`);
      });
    });
  });

  it("draws a bar by its median, not by a share taken round by round (which can reverse two bars)", () => {
    const w = "256 concurrent gets (100 B)";
    // A raw window slower than the minimal client over the rounds, but faster than raw batches in the
    // round raw batches was slowest: shares of raw batches round by round would draw it longer.
    const rounds = (...xs: number[]) => xs.map((opsPerSec) => ({ opsPerSec }));
    const samples = new Map<string, Sample[]>([
      [`${w}|memcachio`, rounds(150_000, 300_000, 350_000)],
      [`${w}|minimal client`, rounds(100_000, 356_000, 360_000)],
      [`${w}|raw batches`, rounds(100_000, 200_000, 400_000)],
      [`${w}|raw window`, rounds(200_000, 331_000, 500_000)],
    ]);
    const results = resultsOf(samples, ["memcachio", "minimal client", "raw batches", "raw window"], [w]);
    const share = (n: string) => results.rows.find((r) => r.client === n)!.vsRawBatches!;
    assert.ok(share("raw window") > share("minimal client"), "the case the chart once drew backwards");
    const [panel] = panelsOf(renderChart(results));
    const [, minimal, , window] = panel!.bars;
    assert.deepEqual(panel!.values, [300_000, 356_000, 200_000, 331_000]);
    assert.ok(
      window!.width < minimal!.width,
      `raw window ${window!.width}, minimal client ${minimal!.width}`,
    );
  });

  it("draws no whisker for a saved run without its rounds' figures, and still every bar and label", () => {
    const { samples: _, ...withoutRounds } = full;
    const [panel] = panelsOf(renderChart(withoutRounds));
    assert.equal(panel!.spreads.length, 0);
    assert.equal(panel!.bars.length, NAMES.length);
    assert.equal(panel!.values.length, NAMES.length);
  });
});

describe("bench chart: the references", () => {
  const svg = renderChart(full);
  const panels = panelsOf(svg);

  it("names in the legend what each reference line is for, and what it was measured over", () => {
    assert.match(svg, /<line class="legend-ceiling"/);
    assert.match(svg, /<line class="legend-floor"/);
    assert.match(svg, />raw batches, the ceiling for a client: no client; pre-formatted requests/);
    assert.match(svg, />minimal client, the floor of any real client: a promise per request/);
    assert.match(svg, /measured with the meta protocol over TCP, so drawn only across the rows that use it/);
    assert.match(svg, /whisker: the slowest and the fastest round/);
  });

  it("draws each line at its reference's median, only across the rows that use the meta protocol over TCP", () => {
    panels.forEach((p, i) => {
      for (const [lines, reference] of [
        [p.ceilings, "raw batches"],
        [p.floors, "minimal client"],
      ] as const) {
        const bar = p.bars[NAMES.indexOf(reference)]!;
        assert.ok(lines.length > 0, `${WORKLOADS[i]}: ${reference}`);
        for (const l of lines) assert.ok(Math.abs(l.x - (bar.x + bar.width)) <= 0.1, "at the bar's end");
        NAMES.forEach((n, j) => {
          const middle = p.bars[j]!.y + 6;
          const crossed = lines.some((l) => l.y1 <= middle && middle <= l.y2);
          assert.equal(crossed, isMetaOverTcp(n), `${WORKLOADS[i]}: ${reference} across ${n}`);
        });
      }
    });
    // Among them the rows that pass raw batches over a Unix socket or with the text protocol.
    for (const n of ["memcachio unix", "memcachio text", "memcachio binary", "memjs"])
      assert.ok(!isMetaOverTcp(n));
    for (const n of ["memcachio", "memcachio @HEAD~1", "minimal client", "raw window"])
      assert.ok(isMetaOverTcp(n));
  });

  it("states memcachio's shares of the references under the panels, as the report pairs them", () => {
    assert.match(svg, />memcachio ÷ raw batches</);
    assert.match(svg, />memcachio ÷ minimal client</);
    const shares = [...svg.matchAll(/class="share">(\d+) %</g)].map((m) => Number(m[1]));
    const mine = full.rows.filter((r) => r.client === "memcachio");
    assert.deepEqual(shares, [
      ...mine.map((r) => Math.round(r.vsRawBatches! * 100)),
      ...mine.map((r) => Math.round(r.vsMinimal! * 100)),
    ]);
  });
});
