/** The SVG pieces the bench chart is drawn with (`chart-svg.ts`), and its number formats. */

/** A coordinate with at most one decimal. */
export function f(n: number): string {
  return String(Math.round(n * 10) / 10);
}

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** `<text>`; `attributes` is added as is (`text-anchor="end"`, a class, a fill). */
export function text(x: number, y: number, size: number, s: string, attributes = ""): string {
  return `<text x="${f(x)}" y="${f(y)}" font-size="${size}"${attributes === "" ? "" : ` ${attributes}`}>${esc(s)}</text>`;
}

/** `<rect>`, with a tooltip when `title` is given. */
export function rect(x: number, y: number, w: number, h: number, fill: string, cls = "", title = ""): string {
  const attrs = `${cls === "" ? "" : `class="${cls}" `}x="${f(x)}" y="${f(y)}" width="${f(Math.max(0, w))}" height="${f(h)}" fill="${fill}"`;
  return title === "" ? `<rect ${attrs}/>` : `<rect ${attrs}><title>${esc(title)}</title></rect>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ""): string {
  return `<line${extra === "" ? "" : ` ${extra}`} x1="${f(x1)}" y1="${f(y1)}" x2="${f(x2)}" y2="${f(y2)}" stroke="${stroke}" stroke-width="1"/>`;
}

/** A bar's label: `35.8 k`, `568 k`, `1.05 M` (three significant figures). */
export function compact(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e5) return `${Math.round(x / 1e3)} k`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return `${Math.round(x)}`;
}

/** An axis label: `0`, `250 k`, `1.5 M` (no trailing zeros). */
export function tickLabel(x: number): string {
  if (x >= 1e6) return `${Number((x / 1e6).toFixed(2))} M`;
  if (x >= 1e3) return `${Number((x / 1e3).toFixed(1))} k`;
  return `${x}`;
}

/** A round step (1, 2, 2.5 or 5 times a power of ten) that cuts `0..max` into about `parts` parts. */
export function niceStep(max: number, parts: number): number {
  if (!(max > 0)) return 1;
  const raw = max / parts;
  const power = 10 ** Math.floor(Math.log10(raw));
  const multiple = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10;
  return multiple * power;
}

/** `count` with thousands separators: `819,987`. */
export function count(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}
