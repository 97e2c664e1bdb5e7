/**
 * `npm run sim -- --histories N [--seed S] [--path P] [--max-servers M] [--max-steps K]`: replays
 * the regression histories (`fixtures/sim-regressions.json`), then runs N generated histories of the
 * cluster core in virtual time (see `history.ts`). A failure prints its seed and path, which replay
 * it exactly (`--seed S --path P`), and the shrunk history to add to the regressions.
 *
 * `--stats` prints what the run exercised; `--tolerate NAME,…` keeps findings of known defects (see
 * `calls.ts`) apart instead of failing on them.
 *
 * `npm run sim -- --replay FILE [--trace]` runs one history from FILE (`{ "seed", "history" }`, as a
 * regression case is written) and prints what it broke; `--trace` prints its calls and wire bytes.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { VirtualClock } from "./clock.ts";
import { type History, historyArbitrary, runHistory } from "./history.ts";
import { tally } from "./tally.ts";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const histories = Number(arg("histories") ?? 1000);
const seed = arg("seed") === undefined ? Date.now() % 2 ** 31 : Number(arg("seed"));
const path = arg("path");
/** Known defects to keep apart instead of failing on (comma-separated names; see `calls.ts`). */
const tolerate = new Set((arg("tolerate") ?? "").split(",").filter((x) => x !== ""));
const clock = new VirtualClock();
clock.install();
const out = (line: string) => process.stdout.write(`${line}\n`);
let known = 0;
const run = async (history: History, randomSeed: number, print?: (line: string) => void) => {
  const v = await runHistory(history, clock, randomSeed, { tolerate, ...(print ? { print } : {}) });
  known += v.known.length;
  return v.broken;
};

const replay = arg("replay");
if (replay !== undefined) {
  const c = JSON.parse(readFileSync(replay, "utf8")) as { seed?: number; history: History };
  const broken = await run(c.history, c.seed ?? 0, process.argv.includes("--trace") ? out : undefined);
  out(
    broken.length === 0
      ? `sim: clean (${known} findings of known defects)`
      : `sim: broke\n  ${broken.join("\n  ")}`,
  );
  process.exit(broken.length === 0 ? 0 : 1);
}

const regressions = JSON.parse(
  readFileSync(new URL("../../fixtures/sim-regressions.json", import.meta.url), "utf8"),
) as { cases: { name: string; seed: number; history: History }[] };
let failedRegressions = 0;
for (const c of regressions.cases) {
  const broken = await run(c.history, c.seed);
  if (broken.length > 0) {
    failedRegressions++;
    out(`regression "${c.name}" broke:\n  ${broken.join("\n  ")}`);
  }
}
out(
  `sim: ${regressions.cases.length - failedRegressions} of ${regressions.cases.length} regression histories clean`,
);
const started = process.hrtime.bigint();
let generated = 0;
const property = fc.asyncProperty(
  historyArbitrary({ maxServers: Number(arg("max-servers") ?? 6), maxSteps: Number(arg("max-steps") ?? 40) }),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  async (history, randomSeed) => {
    generated++;
    const broken = await run(history, randomSeed);
    if (broken.length > 0) throw new Error(broken.slice(0, 5).join("\n"));
  },
);
const result = await fc.check(property, {
  numRuns: histories,
  seed,
  ...(path === undefined ? {} : { path }),
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
out(
  `sim: ${generated} histories in ${seconds.toFixed(1)} s (${(generated / seconds).toFixed(0)}/s), seed ${seed}` +
    (tolerate.size > 0 ? `; ${known} findings of tolerated known defects (${[...tolerate].join(", ")})` : ""),
);
if (process.argv.includes("--stats")) {
  for (const [what, n] of [...tally].sort((a, b) => a[0].localeCompare(b[0]))) out(`  ${what}: ${n}`);
}
if (result.failed || failedRegressions > 0) {
  if (result.failed) {
    out(fc.defaultReportMessage(result) ?? "");
    out(`What it broke:\n${String((result.errorInstance as Error | undefined)?.message)}`);
    const [history, randomSeed] = result.counterexample!;
    out(
      `To replay (npm run sim -- --replay FILE --trace), FILE holds:\n${JSON.stringify({ seed: randomSeed, history })}`,
    );
  }
  process.exit(1);
}
process.exit(0);
