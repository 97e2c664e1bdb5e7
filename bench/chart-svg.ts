/**
 * The chart of a bench run, as a self-contained SVG (white background, system fonts, no script), so
 * that it reads the same in GitHub's light and dark themes. One panel per workload, one row per
 * contender across the panels: a bar's length is the contender's throughput as a share of raw batches
 * (the ceiling) in that workload, its label the throughput itself. A dashed line marks the ceiling and a
 * dotted one the minimal client (the floor of any real client) in each panel.
 */
import { type BenchResults, isMemcachio, isReference } from "./report.ts";

const WIDTH = 960;
/** Right edge of the contender names; the panels start after it. */
const NAMES_RIGHT = 160;
const PANELS_LEFT = 172;
const MARGIN = 14;
/** Room after a bar for its value label. */
const LABEL_ROOM = 44;
const ROW_PITCH = 20;
const BAR_HEIGHT = 12;
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
  text: "#222222",
  muted: "#555555",
  grid: "#e3e3e3",
  stripe: "#f4f6f9",
};

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
  const ops = (w: string, n: string) =>
    results.rows.find((r) => r.workload === w && r.client === n)?.opsPerSec ?? 0;
  // The base of each panel's scale: raw batches, or the fastest contender when it did not run.
  const hasCeiling = names.includes("raw batches");
  const base = (w: string) => (hasCeiling ? ops(w, "raw batches") : Math.max(...names.map((n) => ops(w, n))));
  // With the ceiling, a bar is the row's share of it round by round, as the report's table prints it.
  const share = (w: string, n: string) => {
    const paired = results.rows.find((r) => r.workload === w && r.client === n)?.vsRawBatches;
    if (hasCeiling && paired !== undefined) return paired;
    return base(w) > 0 ? ops(w, n) / base(w) : 0;
  };
  const top = Math.max(1, ...workloads.flatMap((w) => names.map((n) => share(w, n))));
  const scaleMax = Math.ceil(top * 10 - 1e-9) / 10;

  const panelWidth = (WIDTH - PANELS_LEFT - MARGIN) / workloads.length;
  const barWidth = panelWidth - 6 - LABEL_ROOM;
  const barLeft = (p: number) => PANELS_LEFT + p * panelWidth + 6;
  const x = (p: number, s: number) => barLeft(p) + (s / scaleMax) * barWidth;

  const svg: string[] = [];
  const title = "memcachio bench: throughput of Node.js memcached clients, per workload";
  svg.push(`<text x="${MARGIN}" y="28" font-size="16" font-weight="bold">${esc(title)}</text>`);
  const scaleText = hasCeiling ? "share of raw batches (the ceiling)" : "share of the fastest contender";
  svg.push(
    text(
      MARGIN,
      48,
      11,
      `Bar length: ${scaleText} in the same workload; label: operations per second (getMany: keys per second).`,
    ),
    text(
      MARGIN,
      64,
      11,
      `Longer is better. Medians of ${results.rounds} rounds of ${results.runMs / 1000} s; memcached ${results.memcached} ` +
        `with one thread, Node ${results.node}, ${results.cpus} CPUs, ${results.date.slice(0, 10)}.`,
    ),
  );
  svg.push(...legend(88));

  // Rows: a stripe every other row, then the names; the groups apart.
  const rowsTop = 174;
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
    if (i % 2 === 1) {
      svg.push(rect(MARGIN - 4, rowY[i]!, WIDTH - 2 * MARGIN + 8, ROW_PITCH, COLOURS.stripe));
    }
    const weight = n === "memcachio" ? ' font-weight="bold"' : "";
    svg.push(
      `<text x="${NAMES_RIGHT}" y="${f(rowY[i]! + ROW_PITCH / 2 + 4)}" font-size="11" text-anchor="end"${weight}>${esc(n)}</text>`,
    );
  });

  workloads.forEach((w, p) => {
    svg.push(`<g><title>${esc(w)}</title>`);
    const titleLines = splitTitle(w);
    for (const [i, title] of titleLines.entries()) {
      const titleY = rowsTop - 8 - (titleLines.length - 1 - i) * 13;
      svg.push(
        `<text x="${f(barLeft(p))}" y="${titleY}" font-size="11" font-weight="bold">${esc(title)}</text>`,
      );
    }
    // Grid and axis: a line and a label every 50 %.
    for (let s = 0; s <= scaleMax + 1e-9; s += 0.5) {
      svg.push(line(x(p, s), rowsTop - 2, x(p, s), rowsBottom + 2, s === 0 ? "#999999" : COLOURS.grid));
      svg.push(
        `<text x="${f(x(p, s))}" y="${rowsBottom + 14}" font-size="9" fill="${COLOURS.muted}" text-anchor="middle">${Math.round(s * 100)} %</text>`,
      );
    }
    names.forEach((n, i) => {
      const s = share(w, n);
      if (ops(w, n) <= 0) return;
      const barTop = rowY[i]! + (ROW_PITCH - BAR_HEIGHT) / 2;
      svg.push(rect(barLeft(p), barTop, x(p, s) - barLeft(p), BAR_HEIGHT, colourOf(n)));
    });
    // The references' lines go over the bars, the value labels over the lines.
    const mark = (cls: string, s: number, colour: string, dash: string) =>
      svg.push(
        `<line class="${cls}" x1="${f(x(p, s))}" y1="${rowsTop - 4}" x2="${f(x(p, s))}" y2="${rowsBottom}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="${dash}"/>`,
      );
    if (hasCeiling) mark("ceiling", 1, COLOURS.ceiling, "6 3");
    if (ops(w, "minimal client") > 0) mark("floor", share(w, "minimal client"), COLOURS.floor, "2 2");
    names.forEach((n, i) => {
      if (ops(w, n) <= 0) return;
      const halo = i % 2 === 1 ? COLOURS.stripe : "#ffffff";
      svg.push(
        `<text x="${f(x(p, share(w, n)) + 3)}" y="${f(rowY[i]! + ROW_PITCH / 2 + 3.5)}" font-size="9.5" stroke="${halo}" stroke-width="3" paint-order="stroke">${compact(ops(w, n))}</text>`,
      );
    });
    svg.push("</g>");
  });

  const height = rowsBottom + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" fill="${COLOURS.text}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...svg,
    "</svg>",
    "",
  ].join("\n");
}

/** The legend: the bars' colours on one line, the reference lines on the next. */
function legend(y: number): string[] {
  const out: string[] = [];
  let x = MARGIN;
  const swatch = (colour: string, label: string, row: number) => {
    out.push(rect(x, row - 10, 12, 12, colour), text(x + 17, row, 11, label));
    x += 17 + label.length * CHAR_WIDTH + 18;
  };
  swatch(COLOURS.memcachio, "memcachio (meta over TCP)", y);
  swatch(COLOURS.variant, "memcachio, other protocols and transports", y);
  swatch(COLOURS.peer, "other clients on npm", y);
  swatch(COLOURS.minimal, "minimal client", y);
  swatch(COLOURS.raw, "raw batches, raw window", y);
  x = MARGIN;
  const row = y + 20;
  const mark = (colour: string, dash: string, label: string) => {
    out.push(
      `<line x1="${x}" y1="${row - 4}" x2="${x + 24}" y2="${row - 4}" stroke="${colour}" stroke-width="2" stroke-dasharray="${dash}"/>`,
      text(x + 30, row, 11, label),
    );
    x += 30 + label.length * CHAR_WIDTH + 18;
  };
  mark(
    COLOURS.ceiling,
    "6 3",
    "raw batches: request bytes on a bare socket, the most one connection carries (ceiling)",
  );
  const row2 = row + 18;
  x = MARGIN;
  out.push(
    `<line x1="${x}" y1="${row2 - 4}" x2="${x + 24}" y2="${row2 - 4}" stroke="${COLOURS.floor}" stroke-width="2" stroke-dasharray="2 2"/>`,
    text(x + 30, row2, 11, "minimal client: a bare client with no features, the floor of any real client"),
  );
  return out;
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

/** `35.8 k`, `568 k`, `1.05 M`. */
function compact(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e5) return `${Math.round(x / 1e3)} k`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return `${Math.round(x)}`;
}

function text(x: number, y: number, size: number, s: string): string {
  return `<text x="${f(x)}" y="${f(y)}" font-size="${size}">${esc(s)}</text>`;
}

function rect(x: number, y: number, w: number, h: number, fill: string): string {
  return `<rect x="${f(x)}" y="${f(y)}" width="${f(Math.max(0, w))}" height="${f(h)}" fill="${fill}"/>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string): string {
  return `<line x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}" stroke="${stroke}" stroke-width="1"/>`;
}

/** A coordinate with at most one decimal. */
function f(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
