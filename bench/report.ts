/**
 * The report of `npm run bench`: the medians and ratios of a run ({@link summarize}) and the plain-text
 * tables and legend it prints ({@link renderReport}), at most {@link REPORT_WIDTH} columns wide. The
 * chart of the same results is drawn by `chart-svg.ts`.
 */
import { median } from "./harness.ts";
import type { Sample } from "./workloads.ts";

/** The widest line the printed report may have. */
export const REPORT_WIDTH = 100;

/** One contender on one workload: medians over the rounds, and ratios of its throughput to others'. */
export interface ResultRow {
  workload: string;
  client: string;
  /** Operations per second (keys per second for getMany). */
  opsPerSec: number;
  /** Latency per call, µs (the sequential workload only). */
  p50?: number | undefined;
  p99?: number | undefined;
  /** Throughput ÷ the fastest peer's (clients only, not the references). */
  vsBestPeer?: number | undefined;
  /** Throughput ÷ the minimal client's, raw batches', raw window's. */
  vsMinimal?: number | undefined;
  vsRawBatches?: number | undefined;
  vsRawWindow?: number | undefined;
  /** CPU time of the contender's process per operation (getMany: per key), µs; runs before it was measured have none. */
  cpuUs?: number | undefined;
  /** CPU time per operation ÷ the minimal client's, the median over rounds of that ratio within a round. */
  cpuVsMinimal?: number | undefined;
}

/** What a run saves in `bench/results/latest.json`. */
export interface BenchResults {
  date: string;
  node: string;
  memcached: string;
  cpus: number;
  /** The CPU model (runs before it was saved have none). */
  cpu?: string | undefined;
  runMs: number;
  rounds: number;
  rows: ResultRow[];
  /** Failed calls per contender (not counted as operations). */
  failures: Record<string, number>;
  /** Every sample, by `workload|contender`. */
  samples?: Record<string, Sample[]>;
}

/** The references: no client, or a client with no features. They show how far a client is from the limit. */
export const isReference = (name: string): boolean => name.startsWith("raw ") || name === "minimal client";
/** memcachio itself and its variants (other protocols and transports, an earlier commit). */
export const isMemcachio = (name: string): boolean => name === "memcachio" || name.startsWith("memcachio ");
/** The other clients on npm. */
export const isPeer = (name: string): boolean => !isMemcachio(name) && !isReference(name);
/**
 * Whether a contender talks as the references do: the meta protocol over TCP to the first memcached.
 * The references bound only these rows; no reference was measured over the other protocols and transports
 * (the other clients speak binary or text).
 */
export const isMetaOverTcp = (name: string): boolean =>
  name === "memcachio" || name.startsWith("memcachio @") || isReference(name);

/** The rows of a run: per workload and contender, the medians of its samples and its ratios. */
export function summarize(
  samples: ReadonlyMap<string, Sample[]>,
  names: readonly string[],
  workloads: readonly string[],
): ResultRow[] {
  const rows: ResultRow[] = [];
  const peers = names.filter(isPeer);
  for (const w of workloads) {
    const med = (n: string) => {
      const ss = samples.get(`${w}|${n}`) ?? [];
      return {
        opsPerSec: ss.length === 0 ? 0 : median(ss.map((s) => s.opsPerSec)),
        p50: ss[0]?.p50 === undefined ? undefined : median(ss.map((s) => s.p50!)),
        p99: ss[0]?.p99 === undefined ? undefined : median(ss.map((s) => s.p99!)),
        cpuUs:
          ss.length === 0 || ss.some((s) => s.cpuUs === undefined)
            ? undefined
            : median(ss.map((s) => s.cpuUs!)),
      };
    };
    const bestPeer = Math.max(0, ...peers.map((p) => med(p).opsPerSec));
    const ratio = (x: number, base: number) => (base > 0 ? x / base : undefined);
    // Against a reference, round by round: the two ran one after the other (see `run.ts`), so a
    // slow spell of the machine slows both, where medians taken apart may come from different spells.
    // The median over rounds of `pick` ÷ the reference's in the same round; undefined when a round
    // lacks a figure.
    const perRound = (n: string, ref: string, pick: (s: Sample) => number | undefined) => {
      const a = samples.get(`${w}|${n}`) ?? [];
      const b = samples.get(`${w}|${ref}`) ?? [];
      if (a.length === 0 || a.length !== b.length) return undefined;
      const shares = a.map((s, i) => {
        const x = pick(s);
        const y = pick(b[i]!);
        return x !== undefined && y !== undefined && y > 0 ? x / y : Number.NaN;
      });
      return shares.some(Number.isNaN) ? undefined : median(shares);
    };
    const paired = (n: string, ref: string) => {
      const b = samples.get(`${w}|${ref}`) ?? [];
      if (!names.includes(ref) || (samples.get(`${w}|${n}`) ?? []).length === 0) return undefined;
      if (b.some((s) => !(s.opsPerSec > 0))) return undefined;
      return perRound(n, ref, (s) => s.opsPerSec) ?? ratio(med(n).opsPerSec, med(ref).opsPerSec);
    };
    for (const n of names) {
      const m = med(n);
      rows.push({
        workload: w,
        client: n,
        ...m,
        vsBestPeer: isReference(n) ? undefined : ratio(m.opsPerSec, bestPeer),
        vsMinimal: paired(n, "minimal client"),
        vsRawBatches: paired(n, "raw batches"),
        vsRawWindow: paired(n, "raw window"),
        cpuVsMinimal: isReference(n) ? undefined : perRound(n, "minimal client", (s) => s.cpuUs),
      });
    }
  }
  return rows;
}

/** Short column headers of the known workloads, and what each one does, in plain words. */
const WORKLOAD_TEXT: Record<string, [short: string, meaning: string]> = {
  "sequential get": [
    "seq. get",
    "one get at a time, each awaited before the next; p50 and p99 are its latency",
  ],
  "256 concurrent gets (100 B)": ["256 gets", "256 gets kept in flight, 100-byte values"],
  "256 concurrent sets (1 KiB)": ["256 sets", "256 sets kept in flight, 1 KiB values"],
  "getMany 100 keys ×8": ["getMany ×8", "8 getMany calls of 100 keys each kept in flight; counts keys"],
  "getMany 100 keys ×1": ["getMany ×1", "one getMany of 100 keys at a time; counts keys"],
};

/** What each known contender is, in plain words (peers by their npm names). */
const CONTENDER_TEXT: Record<string, string> = {
  memcachio: "this package: meta protocol over TCP, default options",
  "memcachio binary": 'the same with protocol: "binary"',
  "memcachio tls": "meta protocol over TLS, to a second memcached, identical but for TLS",
  "memcachio unix": "meta protocol over a Unix socket, to a third memcached, identical but for the socket",
  "memcachio text": 'the same with protocol: "text" (the classic ASCII protocol)',
  "memcachio twemproxy": 'protocol: "text" through twemproxy (a proxy) in front of the first memcached',
  memjs: "npm package memjs, default options (no multi-get: its getMany is gets in parallel)",
  memcached: "npm package memcached, default options",
  "memcache-client": "npm package memcache-client, default options",
  "minimal client":
    "a bare promise-per-request meta client with no features (no error handling, deadlines, key " +
    "checks or pool): the floor of any real client, the least work a client can do per request",
  "raw batches":
    "no client: pre-formatted request bytes written in batches on one socket, replies counted but not " +
    "parsed: the most a Node process can push through one connection (the ceiling)",
  "raw window": "the same bytes, topped up as replies arrive instead of batch by batch (a second ceiling)",
};

/** The longest contender name or column header printed; longer ones are cut. */
const MAX_NAME = 22;

/** The report `npm run bench` prints: environment, throughput table, comparisons, legend. */
export function renderReport(results: BenchResults): string {
  const workloads = unique(results.rows.map((r) => r.workload));
  const names = unique(results.rows.map((r) => r.client));
  const row = (w: string, n: string) => results.rows.find((r) => r.workload === w && r.client === n);
  const ops = (w: string, n: string) => row(w, n)?.opsPerSec;
  const out: string[] = [];
  const cpu = results.cpu === undefined ? "" : ` (${results.cpu})`;
  out.push(
    ...wrap(
      `memcachio bench, ${results.date.slice(0, 10)}: memcached ${results.memcached} with one thread, ` +
        `Node ${results.node}, ${results.cpus} CPUs${cpu}. Medians of ${results.rounds} rounds of ` +
        `${results.runMs / 1000} s per workload, each contender in a process of its own.`,
    ),
    "",
  );

  // Throughput: contenders as rows, workloads as columns (latency beside the workload that has it).
  const header = ["client"];
  const cells: string[][] = names.map((n) => [cut(n)]);
  for (const w of workloads) {
    const latency = results.rows.some((r) => r.workload === w && r.p50 !== undefined);
    header.push(shortName(w), ...(latency ? ["p50 µs", "p99 µs"] : []));
    for (const [i, n] of names.entries()) {
      const r = row(w, n);
      cells[i]!.push(r === undefined ? "" : count(r.opsPerSec));
      if (latency) cells[i]!.push(micros(r?.p50), micros(r?.p99));
    }
  }
  out.push("Throughput: operations per second (getMany: keys per second); higher is better.");
  out.push(...table(header, cells), "");

  // memcachio against the fastest peer and the references.
  if (names.includes("memcachio")) {
    out.push("memcachio (meta protocol over TCP) against the fastest other client and the references:");
    const refs = ["minimal client", "raw batches", "raw window"].filter((n) => names.includes(n));
    const peers = names.filter(isPeer);
    const vs = workloads.map((w) => {
      const mine = ops(w, "memcachio") ?? 0;
      const best = peers.reduce<string | undefined>(
        (b, p) => ((ops(w, p) ?? 0) > (ops(w, b ?? "") ?? 0) ? p : b),
        undefined,
      );
      const bestOps = best === undefined ? 0 : (ops(w, best) ?? 0);
      return [
        shortName(w),
        best ?? "",
        bestOps > 0 ? `${(mine / bestOps).toFixed(2)}×` : "",
        ...refs.map((n) => share(row(w, "memcachio")?.[REF_RATIO[n]!])),
      ];
    });
    out.push(...table(["workload", "fastest other", "memcachio ÷ it", ...refs.map((n) => `% ${n}`)], vs));
    out.push(
      ...wrap(
        "memcachio ÷ it: memcachio's throughput divided by the fastest other client's. The % columns: " +
          "memcachio's throughput as a share of each reference's, the median over rounds of that share " +
          "within a round.",
      ),
      "",
    );
  }

  // CPU per operation: the per-request cost itself, which throughput shows only through the server.
  const cpuRows = workloads.filter((w) => row(w, "memcachio")?.cpuVsMinimal !== undefined);
  if (cpuRows.length > 0) {
    out.push("CPU time per operation, µs (getMany: per key): user + system time of each client's process:");
    const cpu = cpuRows.map((w) => [
      shortName(w),
      cpuMicros(row(w, "memcachio")?.cpuUs),
      cpuMicros(row(w, "minimal client")?.cpuUs),
      `${row(w, "memcachio")!.cpuVsMinimal!.toFixed(2)}×`,
    ]);
    out.push(...table(["workload", "memcachio", "minimal client", "memcachio ÷ minimal"], cpu));
    out.push(
      ...wrap(
        "memcachio ÷ minimal: the median over rounds of memcachio's CPU time per operation ÷ the minimal " +
          "client's in the same round. Under 1.00×, memcachio spends less.",
      ),
      "",
    );
  }

  // memcachio's variants as a share of memcachio over TCP with the meta protocol.
  const variants = names.filter((n) => n.startsWith("memcachio ") && names.includes("memcachio"));
  if (variants.length > 0) {
    out.push("memcachio over other protocols and transports, as a share of memcachio (meta over TCP):");
    const shares = workloads.map((w) => [
      shortName(w),
      ...variants.map((n) => percent(ops(w, n) ?? 0, ops(w, "memcachio"))),
    ]);
    out.push(...table(["workload", ...variants.map((n) => cut(n.slice("memcachio ".length)))], shares), "");
  }

  out.push("Workloads:");
  out.push(...definitions(workloads.map((w) => [`${shortName(w)}`, `${w}: ${WORKLOAD_TEXT[w]?.[1] ?? ""}`])));
  const describe = (n: string): [string, string] => [cut(n), contenderText(n)];
  out.push("Clients:", ...definitions(names.filter((n) => !isReference(n)).map(describe)));
  out.push(
    "References (not clients to choose from: they show how far a client is from the limit):",
    ...definitions(names.filter(isReference).map(describe)),
  );
  for (const [n, failed] of Object.entries(results.failures)) {
    out.push(...wrap(`note: ${n} had ${failed} failed calls (not counted as operations)`));
  }
  return out.join("\n");
}

/** The short header of workload `w` (at most {@link MAX_NAME} characters). */
export function shortName(w: string): string {
  return WORKLOAD_TEXT[w]?.[0] ?? cut(w);
}

function contenderText(n: string): string {
  const at = /^memcachio @(.+)$/.exec(n);
  if (at !== null) return `memcachio's source at git commit ${at[1]} (the --base option)`;
  return CONTENDER_TEXT[n] ?? "";
}

/** Text columns two spaces apart: figures right-aligned, words left-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const figures = header.map((_, i) => rows.every((r) => /^[\d.,]*( %|×)?$/.test(r[i] ?? "")));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (figures[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/** `term  meaning` lines, the meanings wrapped under one another. */
function definitions(entries: [string, string][]): string[] {
  const indent = 2 + Math.max(0, ...entries.map(([t]) => t.length)) + 2;
  return entries.flatMap(([term, meaning]) => {
    const lines = wrap(meaning, REPORT_WIDTH - indent);
    return lines.map((l, i) => `${i === 0 ? `  ${term.padEnd(indent - 4)}  ` : " ".repeat(indent)}${l}`);
  });
}

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width = REPORT_WIDTH): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

function cut(s: string): string {
  return s.length <= MAX_NAME ? s : `${s.slice(0, MAX_NAME - 1)}…`;
}

function count(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function micros(x: number | undefined): string {
  return x === undefined ? "" : x.toFixed(1);
}

function cpuMicros(x: number | undefined): string {
  return x === undefined ? "" : x.toFixed(2);
}

/** Which ratio of a row is its share of each reference. */
const REF_RATIO: Record<string, "vsMinimal" | "vsRawBatches" | "vsRawWindow"> = {
  "minimal client": "vsMinimal",
  "raw batches": "vsRawBatches",
  "raw window": "vsRawWindow",
};

function share(ratio: number | undefined): string {
  return ratio === undefined ? "" : `${(ratio * 100).toFixed(0)} %`;
}

function percent(x: number, base: number | undefined): string {
  return base === undefined || base <= 0 ? "" : `${((x / base) * 100).toFixed(0)} %`;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
