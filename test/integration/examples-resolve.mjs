/**
 * Module hooks that run `examples/` against the source, as a user's application would run against the
 * package: `memcachio` and its subpaths resolve to the `src/` entry points, and the example's text is
 * rewritten by the pairs in `MEMCACHIO_EXAMPLE_REWRITES` (JSON `[from, to][]`: the addresses of the
 * servers the test started) before tsx compiles it. Load it with `--import` *before* `--import tsx`,
 * so tsx reads the example through these hooks.
 */
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

const SRC = new URL("../../src/", import.meta.url);
const EXAMPLES = new URL("../../examples/", import.meta.url).href;
const ENTRIES = {
  memcachio: "index.ts",
  "memcachio/keyv": "keyv.ts",
  "memcachio/prometheus": "prometheus.ts",
  "memcachio/otel": "otel.ts",
};

// Imported with --import, this file registers itself; in the hooks thread it only exports the hooks.
if (isMainThread) register(import.meta.url);

/**
 * `memcachio` itself, or, with `MEMCACHIO_EXAMPLE_TIMEOUT` (ms), the same exports with a `Client` whose
 * default deadline is that: the suite runs on loaded machines, where 250 ms is not always enough.
 * Options an example gives itself still win.
 */
function main() {
  const index = new URL("index.ts", SRC).href;
  const timeout = Number(process.env.MEMCACHIO_EXAMPLE_TIMEOUT);
  if (!(timeout > 0)) return index;
  const source = [
    `export * from ${JSON.stringify(index)};`,
    `import { Client as Base } from ${JSON.stringify(index)};`,
    "export class Client extends Base {",
    `  constructor(options = {}) { super({ timeout: ${timeout}, ...options }); }`,
    "}",
  ].join("\n");
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

export async function resolve(specifier, context, nextResolve) {
  const entry = ENTRIES[specifier];
  if (entry === undefined) return nextResolve(specifier, context);
  return { url: entry === "index.ts" ? main() : new URL(entry, SRC).href, shortCircuit: true };
}

export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context);
  const rewrites = process.env.MEMCACHIO_EXAMPLE_REWRITES;
  if (!url.startsWith(EXAMPLES) || rewrites === undefined || loaded.source == null) return loaded;
  let text = String(loaded.source);
  for (const [from, to] of JSON.parse(rewrites)) text = text.replaceAll(from, to);
  return { ...loaded, source: text };
}
