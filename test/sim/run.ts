/**
 * `npm run sim -- --histories N [--seed S] [--path P] [--max-servers M] [--max-steps K]`: replays
 * the regression histories (`fixtures/sim-regressions.json`), then runs N generated histories of the
 * cluster core in virtual time (see `history.ts`). A failure prints its seed and path, which replay
 * it exactly (`--seed S --path P`), and the shrunk history to add to the regressions.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { VirtualClock } from "./clock.ts";
import { type History, historyArbitrary, runHistory } from "./history.ts";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const histories = Number(arg("histories") ?? 1000);
const seed = arg("seed") === undefined ? Date.now() % 2 ** 31 : Number(arg("seed"));
const path = arg("path");
const clock = new VirtualClock();
clock.install();
const regressions = JSON.parse(
  readFileSync(new URL("../../fixtures/sim-regressions.json", import.meta.url), "utf8"),
) as { cases: { name: string; seed: number; history: History }[] };
let failedRegressions = 0;
for (const c of regressions.cases) {
  const broken = await runHistory(c.history, clock, c.seed);
  if (broken.length > 0) {
    failedRegressions++;
    process.stdout.write(`regression "${c.name}" broke:\n  ${broken.join("\n  ")}\n`);
  }
}
process.stdout.write(
  `sim: ${regressions.cases.length - failedRegressions} of ${regressions.cases.length} regression histories clean\n`,
);
const started = process.hrtime.bigint();
let runs = 0;
const property = fc.asyncProperty(
  historyArbitrary({ maxServers: Number(arg("max-servers") ?? 6), maxSteps: Number(arg("max-steps") ?? 40) }),
  fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  async (history, randomSeed) => {
    runs++;
    const broken = await runHistory(history, clock, randomSeed);
    if (broken.length > 0) throw new Error(broken.slice(0, 5).join("\n"));
  },
);
const result = await fc.check(property, {
  numRuns: histories,
  seed,
  ...(path === undefined ? {} : { path }),
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(
  `sim: ${runs} histories in ${seconds.toFixed(1)} s (${(runs / seconds).toFixed(0)}/s), seed ${seed}\n`,
);
if (result.failed || failedRegressions > 0) {
  if (result.failed) {
    process.stdout.write(`${fc.defaultReportMessage(result)}\n`);
    process.stdout.write(`What it broke:\n${String((result.errorInstance as Error | undefined)?.message)}\n`);
  }
  process.exit(1);
}
process.exit(0);
