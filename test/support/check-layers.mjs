#!/usr/bin/env node
// Enforces DESIGN §3 on src/ (or on the folder given as the first argument). Exits 1 with one line
// per violation. The rules:
//  1. every file belongs to a layer, and imports point down only:
//     index → client → cluster → pool → connection → protocol; errors, diagnostics and util are
//     leaves that import nothing internal;
//  2. protocol/ touches no socket, timer, diagnostics channel or value serialisation;
//  3. only the client layer (and the entry points) serialise values;
//  4. of the layers that carry requests, only cluster/ looks at server health (`state === "up"` and
//     the like), makes the attempts of calls (`new CallAttempt`) — so only it retries, fails over or
//     hedges — and uses the failure policy's decisions;
//  5. no erased types: no field typed `object` or `unknown` standing for a layer's own object
//     (server, target, call, context, result, policy, attempt, owner);
//  6. files stay at 400 lines or fewer;
//  7. the freshness owner's internals (cluster/freshness/) are imported only from that folder: the
//     rest of the code goes through cluster/freshness/freshness.ts.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(process.argv[2] ?? join(dirname(new URL(import.meta.url).pathname), "../../src"));
const RANK = { protocol: 0, connection: 1, pool: 2, cluster: 3, client: 4, index: 5 };
const LEAVES = ["errors.ts", "diagnostics.ts", "util/"];
const INDEX_FILES = ["index.ts", "prometheus.ts", "keyv.ts", "cli.ts", "otel.ts", "prometheus/", "cli/"];
const CLIENT_FILES = ["client.ts", "client/", "keys.ts", "options.ts", "serialization/"];
const MAX_LINES = 400;
const LAYER_OBJECTS = "server|target|call|context|result|policy|attempt|owner";

function layer(file) {
  if (LEAVES.some((l) => file === l || file.startsWith(l))) return "leaf";
  if (INDEX_FILES.some((f) => file === f || (f.endsWith("/") && file.startsWith(f)))) return "index";
  if (CLIENT_FILES.some((c) => file === c || file.startsWith(c))) return "client";
  const top = file.split("/")[0];
  return top in RANK ? top : "unknown";
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

/** The code without comments (so rules match code, not prose). */
function codeOf(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const errors = [];
for (const abs of walk(root)) {
  const file = relative(root, abs);
  const from = layer(file);
  if (from === "unknown") errors.push(`${file}: not in any layer of DESIGN §3`);
  const text = readFileSync(abs, "utf8");
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  if (lines > MAX_LINES) errors.push(`${file}: ${lines} lines (at most ${MAX_LINES})`);
  const specs = [
    ...[...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]),
    ...[...text.matchAll(/^\s*import\s+"([^"]+)"/gm)].map((m) => m[1]),
  ];
  for (const spec of specs) {
    if (
      from === "protocol" &&
      /^node:(net|tls|timers|timers\/promises|dgram|diagnostics_channel)$/.test(spec)
    ) {
      errors.push(`${file}: protocol/ imports ${spec}`);
    }
    if (!spec.startsWith(".")) continue;
    const target = relative(root, resolve(dirname(abs), spec)).replace(/\.js$/, ".ts");
    const to = layer(target);
    if (from === "leaf" && to !== "leaf") errors.push(`${file}: a leaf imports ${target}`);
    if (from === "protocol" && target === "diagnostics.ts")
      errors.push(`${file}: protocol/ publishes diagnostics`);
    if (target.startsWith("serialization/") && from !== "client" && from !== "index") {
      errors.push(`${file}: only the client layer serialises values (imports ${target})`);
    }
    if (target === "cluster/policy.ts" && from !== "cluster" && from !== "client" && from !== "index") {
      errors.push(`${file}: only cluster/ decides on failures (imports ${target})`);
    }
    if (
      target.startsWith("cluster/freshness/") &&
      target !== "cluster/freshness/freshness.ts" &&
      !file.startsWith("cluster/freshness/")
    ) {
      errors.push(`${file}: imports ${target}, inside the freshness owner (go through freshness.ts)`);
    }
    if (to === "leaf" || from === "leaf") continue;
    if (RANK[to] > RANK[from])
      errors.push(`${file} (${from}) imports ${target} (${to}): imports must point down`);
  }
  const code = codeOf(text);
  if (from === "protocol" && /\b(setTimeout|setInterval|setImmediate)\s*\(/.test(code)) {
    errors.push(`${file}: protocol/ uses a timer`);
  }
  // The layers that carry requests; the entry points may read the public health report.
  if (from !== "cluster" && from !== "index") {
    if (/\.state\s*[!=]==?\s*"(up|down|probing)"/.test(code)) {
      errors.push(`${file}: checks server health outside cluster/`);
    }
    if (/\bnew\s+CallAttempt\s*\(/.test(code))
      errors.push(`${file}: makes attempts of calls outside cluster/`);
    if (/\b(afterFailure|backoff|readShare)\s*\(/.test(code)) {
      errors.push(`${file}: decides on failures outside cluster/`);
    }
  }
  for (const m of code.matchAll(
    /^\s*(?:readonly\s+)?#?(\w+)\??\s*:\s*(object|unknown)(\s*\|\s*null)?\s*[;=]/gm,
  )) {
    if (new RegExp(`^(${LAYER_OBJECTS})$`, "i").test(m[1])) {
      errors.push(`${file}: field \`${m[1]}: ${m[2]}${m[3] ?? ""}\` erases a layer's own type`);
    }
  }
}
if (errors.length > 0) {
  for (const e of errors) console.error(`layers: ${e}`);
  process.exit(1);
}
console.log("layers: ok");
