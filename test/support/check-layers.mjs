#!/usr/bin/env node
// Enforces DESIGN §3: imports point down only (index → client → cluster → pool → connection → protocol),
// errors/diagnostics/util are leaves, protocol/ never touches sockets or timers, and values are
// serialised only in the client layer. Exits 1 with one line per violation.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "../../src");
const RANK = { protocol: 0, connection: 1, pool: 2, cluster: 3, client: 4, index: 5 };
const LEAVES = ["errors.ts", "diagnostics.ts", "util/"];
const INDEX_FILES = ["index.ts", "prometheus.ts", "keyv.ts", "cli.ts"];
const CLIENT_FILES = [
  "client.ts",
  "commands.ts",
  "commands-binary.ts",
  "keys.ts",
  "options.ts",
  "local-cache.ts",
  "requests.ts",
  "serialization/",
];

function layer(file) {
  if (LEAVES.some((l) => file === l || file.startsWith(l))) return "leaf";
  if (INDEX_FILES.includes(file)) return "index";
  if (CLIENT_FILES.some((c) => file === c || file.startsWith(c))) return "client";
  const top = file.split("/")[0];
  if (top in RANK) return top;
  return "unknown";
}

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

const errors = [];
for (const abs of walk(root)) {
  const file = relative(root, abs);
  const from = layer(file);
  if (from === "unknown") errors.push(`${file}: not in any layer of DESIGN §3`);
  const text = readFileSync(abs, "utf8");
  const specs = [
    ...[...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]),
    ...[...text.matchAll(/^\s*import\s+"([^"]+)"/gm)].map((m) => m[1]),
  ];
  for (const spec of specs) {
    if (from === "protocol" && /^node:(net|tls|timers|dgram|diagnostics_channel)$/.test(spec)) {
      errors.push(`${file}: protocol/ imports ${spec}`);
    }
    if (!spec.startsWith(".")) continue;
    const target = relative(root, resolve(dirname(abs), spec)).replace(/\.js$/, ".ts");
    const to = layer(target);
    if (from === "leaf" && to !== "leaf") errors.push(`${file}: a leaf imports ${target}`);
    if (to === "leaf" || from === "leaf") continue;
    if (RANK[to] > RANK[from])
      errors.push(`${file} (${from}) imports ${target} (${to}): imports must point down`);
    if (target.startsWith("serialization/") && from !== "client" && from !== "index") {
      errors.push(`${file}: only the client layer serialises values (imports ${target})`);
    }
  }
  if (from === "protocol" && /\b(setTimeout|setInterval|setImmediate)\s*\(/.test(text)) {
    errors.push(`${file}: protocol/ uses a timer`);
  }
}
if (errors.length > 0) {
  for (const e of errors) console.error(`layers: ${e}`);
  process.exit(1);
}
console.log("layers: ok");
