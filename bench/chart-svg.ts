/**
 * The chart of a bench run, as a self-contained SVG (white background, system fonts, no script), so
 * that it reads the same in GitHub's light and dark themes. One panel per workload, each with its own
 * scale, one row per contender across the panels. A bar and its label are one figure: the median over
 * rounds of the contender's throughput; a whisker spans its slowest and fastest round. The references'
 * lines (raw batches: the ceiling; the minimal client: the floor) are drawn only across the rows they
 * bound, those that use the meta protocol over TCP as they do (`isMetaOverTcp`). memcachio's shares of
 * the references, paired round by round, are printed under the panels.
 */
import { type BenchResults, isMemcachio, isMetaOverTcp, isReference, type ResultRow } from "./report.ts";
import { compact, count, esc, f, line, niceStep, rect, text, tickLabel } from "./svg.ts";

const WIDTH = 960;
/** Right edge of the contender names; the panels start after it. */
const NAMES_RIGHT = 160;
const PANELS_LEFT = 172;
const MARGIN = 14;
/** Room after a bar (or its whisker) for its value label. */
const LABEL_ROOM = 44;
const ROW_PITCH = 20;
const BAR_HEIGHT = 12;
/** Height of a whisker's end caps. */
const CAP_HEIGHT = 8;
/** Extra space between memcachio's rows, the other clients' and the references'. */
const GROUP_GAP = 8;
const FONT = "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
/** A rough width of a character at 11 px, to lay out the legend without measuring text. */
const CHAR_WIDTH = 6.2;

const COLOURS = {
  memcachio: "#1f5fbf",
  variant: "#86aee6",
  peer: "#e08a2c",
  minimal: "#6b6b6b",
  raw: "#bdbdbd",
  ceiling: "#c0392b",
  floor: "#1b7f3b",
  whisker: "#222222",
  text: "#222222",
  muted: "#555555",
  grid: "#e3e3e3",
  stripe: "#f4f6f9",
};

/** The references drawn as lines: which contender, its line's class, colour and dash. */
const MARKS = [
  { name: "raw batches", cls: "ceiling", colour: COLOURS.ceiling, dash: "6 3" },
  { name: "minimal client", cls: "floor", colour: COLOURS.floor, dash: "2 2" },
] as const;

/** What memcachio is paired with under the panels, and the row field holding the share. */
const SHARES = [
  { name: "raw batches", field: "vsRawBatches" },
  { name: "minimal client", field: "vsMinimal" },
] as const satisfies readonly { name: string; field: keyof ResultRow }[];

function colourOf(name: string): string {
  if (name === "memcachio") return COLOURS.memcachio;
  if (isMemcachio(name)) return COLOURS.variant;
  if (name === "minimal client") return COLOURS.minimal;
  if (isReference(name)) return COLOURS.raw;
  return COLOURS.peer;
}

/** The SVG text of the chart of `results`. */
export function renderChart(results: BenchResults): string {
  const workloads = [...new Set(results.rows.map((r) => r.workload))];
  const names = [...new Set(results.rows.map((r) => r.client))];
  const row = (w: string, n: string) => results.rows.find((r) => r.workload === w && r.client === n);
  const ops = (w: string, n: string) => row(w, n)?.opsPerSec ?? 0;
  // The rounds' own figures, when the run saved them: the whisker.
  const spread = (w: string, n: string) => {
    const rounds = (results.samples?.[`${w}|${n}`] ?? []).map((s) => s.opsPerSec).filter((x) => x > 0);
    return rounds.length === 0 ? undefined : { min: Math.min(...rounds), max: Math.max(...rounds) };
  };
  const reach = (w: string, n: string) => Math.max(ops(w, n), spread(w, n)?.max ?? 0);

  const panelWidth = (WIDTH - PANELS_LEFT - MARGIN) / workloads.length;
  const barWidth = panelWidth - 6 - LABEL_ROOM;
  const barLeft = (p: number) => PANELS_LEFT + p * panelWidth + 6;
  // Each panel's scale ends at its longest bar or whisker.
  const scaleMax = workloads.map((w) => Math.max(1, ...names.map((n) => reach(w, n))));
  const x = (p: number, v: number) => barLeft(p) + (v / scaleMax[p]!) * barWidth;

  const svg: string[] = [];
  const title = "memcachio bench: throughput of Node.js memcached clients, per workload";
  svg.push(`<text x="${MARGIN}" y="28" font-size="16" font-weight="bold">${esc(title)}</text>`);
  svg.push(
    text(
      MARGIN,
      48,
      11,
      `Bar and label: the median over ${results.rounds} rounds of operations per second (getMany: keys per second); ` +
        "whisker: the slowest and the fastest round.",
    ),
    text(
      MARGIN,
      64,
      11,
      `Longer is better; each workload has a scale of its own. Rounds of ${results.runMs / 1000} s; memcached ` +
        `${results.memcached} with one thread, Node ${results.node}, ${results.cpus} CPUs, ${results.date.slice(0, 10)}.`,
    ),
  );
  const drawn = MARKS.filter((m) => names.includes(m.name));
  const legendBottom = legend(88, drawn);
  svg.push(...legendBottom.svg);

  // Rows: a stripe every other row, then the names; the groups apart.
  const rowsTop = legendBottom.y + 40;
  const rowY: number[] = [];
  let y = rowsTop;
  names.forEach((n, i) => {
    const prev = names[i - 1];
    if (prev !== undefined && groupOf(prev) !== groupOf(n)) y += GROUP_GAP;
    rowY.push(y);
    y += ROW_PITCH;
  });
  const rowsBottom = y;
  names.forEach((n, i) => {
    if (i % 2 === 1) svg.push(rect(MARGIN - 4, rowY[i]!, WIDTH - 2 * MARGIN + 8, ROW_PITCH, COLOURS.stripe));
    const weight = n === "memcachio" ? ' font-weight="bold"' : "";
    svg.push(text(NAMES_RIGHT, rowY[i]! + ROW_PITCH / 2 + 4, 11, n, `text-anchor="end"${weight}`));
  });
  // The rows each reference bounds, as runs of neighbouring rows: one line segment per run.
  const boundRuns = runsOf(names.map(isMetaOverTcp));

  workloads.forEach((w, p) => {
    svg.push(`<g class="panel"><title>${esc(w)}</title>`);
    const titleLines = splitTitle(w);
    for (const [i, line] of titleLines.entries()) {
      const titleY = rowsTop - 8 - (titleLines.length - 1 - i) * 13;
      svg.push(text(barLeft(p), titleY, 11, line, 'font-weight="bold"'));
    }
    // Grid and axis: a line and a label at each round step.
    const step = niceStep(scaleMax[p]!, 3);
    for (let v = 0; v <= scaleMax[p]! * (1 + 1e-9); v += step) {
      svg.push(line(x(p, v), rowsTop - 2, x(p, v), rowsBottom + 2, v === 0 ? "#999999" : COLOURS.grid));
      svg.push(
        text(x(p, v), rowsBottom + 14, 9, tickLabel(v), `fill="${COLOURS.muted}" text-anchor="middle"`),
      );
    }
    names.forEach((n, i) => {
      const median = ops(w, n);
      if (median <= 0) return;
      const barTop = rowY[i]! + (ROW_PITCH - BAR_HEIGHT) / 2;
      svg.push(
        rect(
          barLeft(p),
          barTop,
          x(p, median) - barLeft(p),
          BAR_HEIGHT,
          colourOf(n),
          "bar",
          tooltip(results, w, n),
        ),
      );
      const s = spread(w, n);
      if (s !== undefined) svg.push(...whisker(x(p, s.min), x(p, s.max), rowY[i]! + ROW_PITCH / 2));
    });
    // The references' lines go over the bars, across the rows they bound; the value labels over the lines.
    for (const m of drawn) {
      if (ops(w, m.name) <= 0) continue;
      for (const [first, last] of boundRuns) {
        const at = x(p, ops(w, m.name));
        const y1 = rowY[first]! + 1;
        const y2 = rowY[last]! + ROW_PITCH - 1;
        svg.push(
          `<line class="${m.cls}" x1="${f(at)}" y1="${f(y1)}" x2="${f(at)}" y2="${f(y2)}" stroke="${m.colour}" stroke-width="1.5" stroke-dasharray="${m.dash}"/>`,
        );
      }
    }
    names.forEach((n, i) => {
      if (ops(w, n) <= 0) return;
      const halo = i % 2 === 1 ? COLOURS.stripe : "#ffffff";
      svg.push(
        text(
          x(p, reach(w, n)) + 3,
          rowY[i]! + ROW_PITCH / 2 + 3.5,
          9.5,
          compact(ops(w, n)),
          `class="value" stroke="${halo}" stroke-width="3" paint-order="stroke"`,
        ),
      );
    });
    svg.push("</g>");
  });

  // memcachio's shares of the references, as the printed report pairs them: text, not bars.
  const shares = names.includes("memcachio") ? SHARES.filter((s) => names.includes(s.name)) : [];
  let bottom = rowsBottom + 20;
  for (const s of shares) {
    bottom += 16;
    svg.push(text(NAMES_RIGHT, bottom, 10, `memcachio ÷ ${s.name}`, 'text-anchor="end"'));
    workloads.forEach((w, p) => {
      const share = row(w, "memcachio")?.[s.field];
      if (share !== undefined)
        svg.push(text(barLeft(p), bottom, 10, `${Math.round(share * 100)} %`, 'class="share"'));
    });
  }
  if (shares.length > 0) {
    bottom += 16;
    svg.push(
      text(
        MARGIN,
        bottom,
        9.5,
        "memcachio ÷ a reference: the median over rounds of memcachio's throughput ÷ the reference's in the same " +
          "round (the two run one after the other).",
        `fill="${COLOURS.muted}"`,
      ),
    );
  }

  const height = bottom + 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${f(height)}" viewBox="0 0 ${WIDTH} ${f(height)}" font-family="${FONT}" fill="${COLOURS.text}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${WIDTH}" height="${f(height)}" fill="#ffffff"/>`,
    ...svg,
    "</svg>",
    "",
  ].join("\n");
}

/**
 * The legend: the bars' colours on one line, then one line per reference drawn, saying what it is for
 * and which rows it bounds. Returns the SVG and the baseline of its last line.
 */
function legend(y: number, marks: readonly (typeof MARKS)[number][]): { svg: string[]; y: number } {
  const out: string[] = [];
  let x = MARGIN;
  const swatch = (colour: string, label: string) => {
    out.push(rect(x, y - 10, 12, 12, colour), text(x + 17, y, 11, label));
    x += 17 + label.length * CHAR_WIDTH + 18;
  };
  swatch(COLOURS.memcachio, "memcachio (meta over TCP)");
  swatch(COLOURS.variant, "memcachio, other protocols and transports");
  swatch(COLOURS.peer, "other clients on npm");
  swatch(COLOURS.minimal, "minimal client");
  swatch(COLOURS.raw, "raw batches, raw window");
  const meaning: Record<(typeof MARKS)[number]["name"], string> = {
    "raw batches":
      "raw batches, the ceiling for a client: no client; pre-formatted requests on a bare socket, each batch " +
      "awaited whole, replies counted, not parsed",
    "minimal client":
      "minimal client, the floor of any real client: a promise per request and nothing else (no checks, " +
      "deadlines or pool)",
  };
  let row = y;
  for (const m of marks) {
    row += 18;
    out.push(
      `<line class="legend-${m.cls}" x1="${MARGIN}" y1="${row - 4}" x2="${MARGIN + 24}" y2="${row - 4}" stroke="${m.colour}" stroke-width="2" stroke-dasharray="${m.dash}"/>`,
      text(MARGIN + 30, row, 11, meaning[m.name]),
    );
  }
  if (marks.length > 0) {
    row += 16;
    out.push(
      text(
        MARGIN + 30,
        row,
        10,
        "Both measured with the meta protocol over TCP, so drawn only across the rows that use it too; " +
          "no reference was measured over binary, text, TLS, a Unix socket or a proxy.",
        `fill="${COLOURS.muted}"`,
      ),
    );
  }
  return { svg: out, y: row };
}

/** A whisker from `x1` to `x2` at height `y`, with end caps, over a white halo so it shows on any bar. */
function whisker(x1: number, x2: number, y: number): string[] {
  const top = f(y - CAP_HEIGHT / 2);
  const bottom = f(y + CAP_HEIGHT / 2);
  const d = `M${f(x1)},${top}V${bottom}M${f(x1)},${f(y)}H${f(x2)}M${f(x2)},${top}V${bottom}`;
  return [
    `<path d="${d}" fill="none" stroke="#ffffff" stroke-width="3" stroke-opacity="0.8"/>`,
    `<path class="spread" d="${d}" fill="none" stroke="${COLOURS.whisker}" stroke-width="1.2"/>`,
  ];
}

/** A bar's tooltip: the contender, its median and spread, and its shares of the references. */
function tooltip(results: BenchResults, w: string, n: string): string {
  const r = results.rows.find((x) => x.workload === w && x.client === n)!;
  const rounds = (results.samples?.[`${w}|${n}`] ?? []).map((s) => s.opsPerSec);
  const spread =
    rounds.length === 0
      ? ""
      : ` (slowest ${count(Math.min(...rounds))}, fastest ${count(Math.max(...rounds))})`;
  const shares = SHARES.filter((s) => s.name !== n && r[s.field] !== undefined && isMetaOverTcp(n)).map(
    (s) => `${Math.round(r[s.field]! * 100)} % of ${s.name}`,
  );
  return (
    `${n}, ${w}: ${count(r.opsPerSec)} a second, the median of ${results.rounds} rounds${spread}` +
    (shares.length === 0 ? "" : `; ${shares.join(", ")}, round by round`)
  );
}

/** `[first, last]` indices of each run of neighbouring `true`s. */
function runsOf(flags: boolean[]): [number, number][] {
  const runs: [number, number][] = [];
  flags.forEach((on, i) => {
    if (!on) return;
    const last = runs.at(-1);
    if (last !== undefined && last[1] === i - 1) last[1] = i;
    else runs.push([i, i]);
  });
  return runs;
}

/** memcachio's rows, the other clients', the references': a gap between groups. */
function groupOf(name: string): number {
  return isMemcachio(name) ? 0 : isReference(name) ? 2 : 1;
}

/** A panel title in at most two lines: `256 concurrent gets` / `(100 B)`. */
function splitTitle(w: string): string[] {
  const paren = w.indexOf(" (");
  if (paren > 0) return [w.slice(0, paren), w.slice(paren + 1)];
  return [w];
}
