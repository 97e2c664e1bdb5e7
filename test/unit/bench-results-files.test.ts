/** Where `npm run bench` writes (`bench/results-files.ts`): nothing git tracks, unless asked with `--save`. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { summarize } from "../../bench/report.ts";
import { LOCAL_RESULTS, PUBLISHED_RESULTS, writeResults } from "../../bench/results-files.ts";

const w = "sequential get";
const samples = new Map([[`${w}|memcachio`, [{ opsPerSec: 100 }, { opsPerSec: 120 }]]]);
const results = {
  date: "2026-12-07T07:46:54.241Z",
  node: "v20.20.2",
  memcached: "1.6.18",
  cpus: 2,
  runMs: 1000,
  rounds: 2,
  rows: summarize(samples, ["memcachio"], [w]),
  failures: {},
  samples: Object.fromEntries(samples),
};

const root = mkdtempSync(join(tmpdir(), "memcachio-bench-results-"));
after(() => rmSync(root, { recursive: true, force: true }));
/** A fresh pair of folders standing in for `bench/results/local/` and `bench/results/`. */
function folders(name: string) {
  const dir = join(root, name);
  return {
    local: join(dir, "local"),
    published: join(dir, "published"),
    localDir: pathToFileURL(`${join(dir, "local")}/`),
    publishedDir: pathToFileURL(`${join(dir, "published")}/`),
  };
}
const filesIn = (dir: string) => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

describe("bench results: where a run writes", () => {
  it("by default: the samples and the chart in the local folder only, which git ignores", () => {
    const f = folders("default");
    const written = writeResults(results, { save: false, localSamples: true, ...f });
    assert.deepEqual(filesIn(f.local), [".gitignore", "chart.svg", "latest.json"]);
    assert.deepEqual(filesIn(f.published), []);
    assert.equal(written.length, 2);
    assert.ok(
      written.every((p) => p.endsWith("local/latest.json") || p.endsWith("local/chart.svg")),
      `${written}`,
    );
    // The folder ignores everything in it, its own .gitignore included: nothing there is ever tracked.
    assert.match(readFileSync(join(f.local, ".gitignore"), "utf8"), /^\*$/m);
    assert.deepEqual(
      JSON.parse(readFileSync(join(f.local, "latest.json"), "utf8")),
      JSON.parse(JSON.stringify(results)),
    );
  });

  it("with --save: the same files in the published folder too", () => {
    const f = folders("save");
    writeResults(results, { save: true, localSamples: true, ...f });
    assert.deepEqual(filesIn(f.published), ["chart.svg", "latest.json"]);
    assert.equal(
      readFileSync(join(f.published, "chart.svg"), "utf8"),
      readFileSync(join(f.local, "chart.svg"), "utf8"),
    );
  });

  it("re-drawing a saved run (--report): the chart only, so the last run's samples stay", () => {
    const f = folders("report");
    writeResults(results, { save: false, localSamples: false, ...f });
    assert.deepEqual(filesIn(f.local), [".gitignore", "chart.svg"]);
  });

  it("writes locally under bench/results/local/, and publishes to bench/results/ where the README's chart is", () => {
    assert.match(LOCAL_RESULTS.pathname, /\/bench\/results\/local\/$/);
    assert.match(PUBLISHED_RESULTS.pathname, /\/bench\/results\/$/);
  });
});
