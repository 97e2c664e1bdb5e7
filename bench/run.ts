/**
 * `npm run bench`: starts its own memcached (`-t 1`, a second one with TLS and a third on a Unix
 * socket, and a twemproxy in front of the first), then measures memcachio (meta; binary; TLS; Unix socket;
 * text; through twemproxy), the peer clients, two raw-socket ceilings and a promise-per-call floor
 * (`minimal client`, see `minimal-client.ts`) on the same workloads, in alternating rounds, and prints a table
 * of medians with ratios to the best peer, to the floor and to the ceilings (`report.ts`; those to the
 * floor and the ceilings are taken round by round, as they run next to memcachio).
 * Each contender runs in a process of its own (`contender-process.ts`), one at a time, so none shares
 * a heap or a garbage collector with another. Writes the samples and their chart (`chart-svg.ts`) to
 * `bench/results/local/`, ignored by git (`results-files.ts`). Then runs the tinybench micro benches
 * (parser, encoder).
 *
 * Options: `--seconds S` per run (default 1), `--rounds R` (default 6, even: each order as often), `--only a,b` contenders,
 * `--workloads a,b` (those whose names contain one of these), `--no-micro`, `--base REF`: one more row,
 * `memcachio @REF`, memcachio's `src/` at git commit REF
 * (extracted to `bench/.base/`), for before/after comparisons of a change in the same run.
 * `--save`: also writes the samples and the chart to `bench/results/`, the chart the README shows.
 * `--report FILE`: runs nothing; prints the tables of a saved run (a `latest.json`) and draws its chart
 * in `bench/results/local/` (with `--save`, in `bench/results/` too).
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import os from "node:os";
import { parseArgs } from "node:util";
import { startMemcached } from "../test/support/memcached.ts";
import { startTlsMemcached, testPki } from "../test/support/secure.ts";
import { startTwemproxy } from "../test/support/twemproxy.ts";
import type { Reply, Run, Start } from "./contender-process.ts";
import { Client } from "../src/index.ts";
import { loadBenchKeys } from "./harness.ts";
import { type BenchResults, isReference, renderReport, summarize, wrap } from "./report.ts";
import { writeResults } from "./results-files.ts";
import { CONTENDERS, type Sample, type Workload, WORKLOADS } from "./workloads.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "1" },
    rounds: { type: "string", default: "6" },
    only: { type: "string" },
    workloads: { type: "string" },
    "no-micro": { type: "boolean", default: false },
    base: { type: "string" },
    save: { type: "boolean", default: false },
    report: { type: "string" },
  },
});
const RUN_MS = Math.max(100, Number(args.seconds) * 1000);
const picked = args.workloads?.split(",");
const workloads = WORKLOADS.filter((w) => picked === undefined || picked.some((p) => w.includes(p)));
if (workloads.length === 0) {
  console.error(`--workloads ${args.workloads}: no workload's name contains it (${WORKLOADS.join("; ")})`);
  process.exit(2);
}
const ROUNDS = Math.max(1, Number(args.rounds));

/** A contender's process: sends it one message at a time and waits for the answer. */
class ContenderProcess {
  readonly #child: ChildProcess;
  #waiting: ((r: Reply) => void) | null = null;

  constructor(readonly name: string) {
    this.#child = fork(new URL("./contender-process.ts", import.meta.url), {
      execArgv: process.execArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#child.on("message", (r: Reply) => {
      const w = this.#waiting;
      this.#waiting = null;
      w?.(r);
    });
    this.#child.on("exit", (code) => {
      this.#waiting?.({ type: "error", message: `${name}: process exited (${code})` });
      this.#waiting = null;
    });
  }

  async ask(m: Start | Run): Promise<Reply> {
    const reply = new Promise<Reply>((resolve) => {
      this.#waiting = resolve;
    });
    this.#child.send(m);
    const r = await reply;
    if (r.type === "error") throw new Error(`${this.name}: ${r.message}`);
    return r;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    this.#child.send({ type: "stop" });
    const timer = setTimeout(() => this.#child.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  if (args.report !== undefined) {
    const saved = JSON.parse(readFileSync(pathToFileURL(args.report), "utf8")) as BenchResults;
    publish(saved, false);
    return;
  }
  const server = await startMemcached({ threads: 1, memory: 512 });
  const label = server.label;
  // The TLS row talks to a second memcached, identical but for -Z (test CA made with openssl).
  const tlsServer = await startTlsMemcached({ threads: 1, memory: 512 });
  const tls = { ca: testPki().ca };
  // The Unix socket row: a third memcached, identical but listening on a socket (`-s`).
  const unixServer = await startMemcached({ threads: 1, memory: 512, unixSocket: true });
  // The twemproxy row: nutcracker in front of the plain memcached alone (the text row minus the hop).
  const twemproxy = await startTwemproxy([server]);
  const only = args.only?.split(",");
  const names: string[] = CONTENDERS.filter((n) => only === undefined || only.includes(n));
  const baseIndex = args.base === undefined ? undefined : extractBase(args.base);
  if (baseIndex !== undefined) names.splice(1, 0, `memcachio @${args.base}`);
  // The order they run in: the references right after memcachio (and its base), each round the
  // reverse of the last, so that memcachio and the references it is measured against run one after
  // the other, each first in half the rounds.
  const references = names.filter(isReference);
  const runOrder = [
    ...names.filter((n) => n === "memcachio" || n.startsWith("memcachio @")),
    ...references,
    ...names.filter((n) => !references.includes(n) && n !== "memcachio" && !n.startsWith("memcachio @")),
  ];

  // Populate the keys the gets read, on both servers.
  for (const options of [
    { servers: [label] },
    { servers: [tlsServer.label], tls },
    { servers: [unixServer.label] },
  ]) {
    const loader = new Client(options);
    await loadBenchKeys(loader);
    await loader.close();
  }

  // Each contender in a process of its own (its own heap, GC and JIT), idle while the others run.
  const procs = new Map(names.map((n) => [n, new ContenderProcess(n)]));
  await Promise.all(
    [...procs.values()].map((p) =>
      p.ask({
        type: "start",
        name: p.name,
        label,
        tlsLabel: tlsServer.label,
        unixLabel: unixServer.label,
        twemproxyLabel: twemproxy.label,
        ca: tls.ca,
        ...(baseIndex === undefined ? {} : { baseIndex }),
      }),
    ),
  );

  const samples = new Map<string, Sample[]>();
  const failures = new Map<string, number>();
  const run = async (name: string, w: Workload, ms: number): Promise<Sample> => {
    const r = await procs.get(name)!.ask({ type: "run", w, ms });
    if (r.type !== "sample") throw new Error(`${name}: unexpected reply ${r.type}`);
    if (r.sample.failures !== undefined) failures.set(name, (failures.get(name) ?? 0) + r.sample.failures);
    return r.sample;
  };

  process.stdout.write(
    `bench: ${ROUNDS} rounds × ${RUN_MS} ms per workload, one process per contender:\n${wrap(
      runOrder.join(", "),
      98,
    )
      .map((l) => `  ${l}`)
      .join("\n")}\n`,
  );
  try {
    for (const w of workloads) {
      for (const n of runOrder) await run(n, w, Math.min(300, RUN_MS)); // warm-up
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate the order each round so no client always runs first or last.
        const order = r % 2 === 0 ? runOrder : [...runOrder].reverse();
        for (const n of order) {
          const s = await run(n, w, RUN_MS);
          const k = `${w}|${n}`;
          samples.set(k, [...(samples.get(k) ?? []), s]);
        }
      }
      process.stdout.write(`  done: ${w}\n`);
    }
  } finally {
    await Promise.all([...procs.values()].map((p) => p.stop()));
  }
  const version = await serverVersion(server.host, server.port);
  await server.kill();
  await tlsServer.kill();
  await unixServer.kill();
  await twemproxy.stop();

  const results: BenchResults = {
    date: new Date().toISOString(),
    node: process.version,
    memcached: version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    runMs: RUN_MS,
    rounds: ROUNDS,
    rows: summarize(samples, names, workloads),
    failures: Object.fromEntries(failures),
    samples: Object.fromEntries(samples),
  };
  console.log("");
  publish(results, true);
  if (!args["no-micro"]) {
    const { runMicro } = await import("./micro.ts");
    await runMicro();
  }
}

/**
 * Prints the report of `results`, writes its chart (and, when `fresh`, its samples) and says where: in
 * `bench/results/local/`, and with `--save` in `bench/results/` too.
 */
function publish(results: BenchResults, fresh: boolean): void {
  console.log(renderReport(results));
  const written = writeResults(results, { save: args.save, localSamples: fresh });
  console.log(`\nwrote ${written.join(", ")}`);
  if (!args.save)
    console.log("(ignored by git; --save writes bench/results/chart.svg, the chart the README shows)");
}

/** Extracts `src/` at git commit `ref` into `bench/.base/` (ignored by git); returns its `index.ts`. */
function extractBase(ref: string): string {
  const dir = fileURLToPath(new URL("./.base/", import.meta.url));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const root = fileURLToPath(new URL("../", import.meta.url));
  const tar = execFileSync("git", ["-C", root, "archive", "--format=tar", ref, "src"], {
    maxBuffer: 64 << 20,
  });
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  return `${dir}src/index.ts`;
}

async function serverVersion(host: string, port: number): Promise<string> {
  const mc = new Client({ servers: [`${host}:${port}`] });
  try {
    return Object.values(await mc.version())[0] ?? "?";
  } finally {
    await mc.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
