/**
 * Where `npm run bench` puts a run's results, so that a run changes no file git tracks: the samples
 * (`latest.json`) and the chart (`chart.svg`) go to `bench/results/local/`, which ignores itself (the
 * run writes a `.gitignore` there, as tools do with their caches). Only `--save` also writes them to
 * `bench/results/`, where the README's chart is published from.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { renderChart } from "./chart-svg.ts";
import type { BenchResults } from "./report.ts";

/** A local run's results: ignored by git. */
export const LOCAL_RESULTS = new URL("./results/local/", import.meta.url);
/** The published results: `chart.svg` is tracked (the README shows it), `latest.json` its samples. */
export const PUBLISHED_RESULTS = new URL("./results/", import.meta.url);

/** What to write, and where. */
export interface WriteOptions {
  /** Also write to {@link PUBLISHED_RESULTS}. */
  save: boolean;
  /**
   * Write the samples locally too. Off when re-drawing a saved file (`--report`), so that the chart of
   * an older run does not replace the samples of the last one.
   */
  localSamples: boolean;
  /** The folders, when not {@link LOCAL_RESULTS} and {@link PUBLISHED_RESULTS} (a test's). */
  localDir?: URL;
  publishedDir?: URL;
}

/** Writes the samples and the chart of `results`; returns the paths written, relative to the working folder. */
export function writeResults(results: BenchResults, options: WriteOptions): string[] {
  const local = options.localDir ?? LOCAL_RESULTS;
  const published = options.publishedDir ?? PUBLISHED_RESULTS;
  const json = `${JSON.stringify(results, null, 1)}\n`;
  const chart = renderChart(results);
  const written: string[] = [];
  const write = (file: URL, content: string) => {
    writeFileSync(file, content);
    written.push(relative(process.cwd(), fileURLToPath(file)));
  };
  mkdirSync(local, { recursive: true });
  const ignore = new URL(".gitignore", local);
  if (!existsSync(ignore)) {
    writeFileSync(
      ignore,
      "# Results of local bench runs; `npm run bench -- --save` publishes to bench/results/.\n*\n",
    );
  }
  if (options.localSamples) write(new URL("latest.json", local), json);
  write(new URL("chart.svg", local), chart);
  if (options.save) {
    mkdirSync(published, { recursive: true });
    write(new URL("latest.json", published), json);
    write(new URL("chart.svg", published), chart);
  }
  return written;
}
