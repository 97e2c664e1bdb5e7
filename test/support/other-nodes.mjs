/**
 * The suite on the Node.js versions users run: the full suite (real servers) on the active LTS, unit
 * and type tests on the other supported lines. `npm test` runs the unit tests on the machine's own
 * Node before this; the real-server suite runs once, on the line most users run, to keep `npm test`
 * short. Each binary comes from the npm registry as the package `node` (`npx -p node@24`), so
 * nothing but npm is needed.
 *
 *     node test/support/other-nodes.mjs            # every line below
 *     node test/support/other-nodes.mjs 26         # one line
 */
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";

const FULL = "node --import tsx test/support/setup.ts && npm run --silent test:suite";
const UNIT_AND_TYPES =
  "node --import tsx --test --test-concurrency=2 test/unit/*.test.ts && node node_modules/typescript/bin/tsc -p test/types/tsconfig.json";

/** What runs on each line: the active LTS gets everything, the others what needs no server timing. */
const LINES = [
  { major: 24, what: "full suite", command: FULL },
  { major: 22, what: "unit and type tests", command: UNIT_AND_TYPES },
  { major: 26, what: "unit and type tests", command: UNIT_AND_TYPES },
];

const only = process.argv.slice(2).map(Number);
const chosen = only.length === 0 ? LINES : LINES.filter((l) => only.includes(l.major));
const times = [];
for (const { major, what, command } of chosen) {
  // The version check runs in the same shell, so a wrong `node` on PATH fails the line.
  const script = `test "$(node -p 'process.versions.node.split(".")[0]')" = "${major}" || { echo "not Node ${major}: $(node --version)"; exit 1; }; node --version && ${command}`;
  console.log(`\n── Node ${major}: ${what} ──`);
  const t0 = performance.now();
  const run = spawnSync("npx", ["--yes", "-p", `node@${major}`, "-c", script], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, npm_config_update_notifier: "false" },
  });
  const seconds = ((performance.now() - t0) / 1000).toFixed(0);
  times.push(`Node ${major} (${what}): ${run.status === 0 ? "passed" : "FAILED"} in ${seconds} s`);
  if (run.status !== 0) {
    console.error(times.join("\n"));
    process.exit(run.status ?? 1);
  }
}
console.log(`\n${times.join("\n")}`);
