/**
 * `memcachio dashboard` (Grafana JSON) and `memcachio alerts` (Prometheus rules), run as a child
 * process: every metric their queries read is one `collectMetrics` really exports, under the prefix
 * asked for.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { Client } from "../../src/index.ts";
import { collectMetrics } from "../../src/prometheus.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
const PREFIX = "shop_cache_";

let server: MemcachedServer;
/** The series names a scrape can have: counters and gauges as named, histograms' three series. */
let exported: Set<string>;

before(async () => {
  server = await startMemcached();
  const mc = new Client({ servers: [server.label] });
  const registry = new Registry();
  const metrics = collectMetrics(mc, { registry, prefix: PREFIX });
  try {
    await mc.set("d:1", "v");
    await mc.get("d:1");
    await mc.get("d:none");
    exported = new Set();
    for (const m of await registry.getMetricsAsJSON()) {
      if (String(m.type) === "histogram")
        for (const s of ["_bucket", "_sum", "_count"]) exported.add(m.name + s);
      else exported.add(m.name);
    }
  } finally {
    metrics.stop();
    await mc.close();
  }
});
after(() => server.kill());

function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", CLI, ...args], { timeout: 20_000 }, (err, out, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, out, err: stderr });
    });
  });
}

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset"]);

/** The metric names a PromQL expression (or a Grafana `label_values(metric, label)` query) reads. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/label_values\(([^,()]+),\s*\w+\)/g, "$1")
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\b\d+(\.\d+)?\b/g, " ");
  const names: string[] = [];
  for (const m of bare.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] === undefined && !KEYWORDS.has(m[1]!)) names.push(m[1]!);
  }
  return names;
}

/** Checks every metric an expression reads; returns them. */
function checkExpr(where: string, expr: string): string[] {
  const names = metricNames(expr);
  assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
  for (const n of names) {
    assert.ok(exported.has(n), `${where}: ${n} is not exported (${expr})`);
    assert.ok(n.startsWith(PREFIX), `${where}: ${n} does not use --prefix`);
  }
  return names;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string }[];
}

describe("memcachio dashboard", () => {
  it("prints a Grafana dashboard whose every query reads exported metrics", async () => {
    const r = await run("dashboard", "--prefix", PREFIX);
    assert.equal(r.code, 0, r.err);
    const d = JSON.parse(r.out) as {
      title: string;
      panels: Panel[];
      templating: { list: { name: string; query: string | { query: string } }[] };
    };
    assert.ok(d.panels.length >= 8, `${d.panels.length} panels`);
    assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length, "panel ids are unique");
    const used = new Set<string>();
    const exprs: string[] = [];
    for (const p of d.panels) {
      assert.ok(p.title && p.type && p.gridPos.w > 0 && p.gridPos.h > 0, JSON.stringify(p));
      for (const t of p.targets ?? []) {
        exprs.push(t.expr);
        for (const n of checkExpr(`panel "${p.title}"`, t.expr)) used.add(n);
      }
    }
    const variables = new Map(d.templating.list.map((v) => [v.name, v]));
    for (const name of ["client", "server"]) {
      const v = variables.get(name);
      assert.ok(v !== undefined, `variable ${name}`);
      const q = typeof v.query === "string" ? v.query : v.query.query;
      for (const n of checkExpr(`variable ${name}`, q)) used.add(n);
    }
    for (const m of ["hits_total", "misses_total", "servers_up", "in_flight", "queue_depth"])
      assert.ok(used.has(PREFIX + m), `${m} shown`);
    for (const m of ["retries_total", "failovers_total", "command_duration_seconds_bucket"])
      assert.ok(used.has(PREFIX + m), `${m} shown`);
    for (const by of ["command", "server"]) {
      const q = new RegExp(`histogram_quantile\\(0\\.99, sum by \\(le, ${by}\\)`);
      assert.ok(
        exprs.some((e) => q.test(e)),
        `latency percentiles per ${by}`,
      );
    }
    assert.ok(
      exprs.every((e) => e.includes('client=~"$client"')),
      "every query follows the client variable",
    );
  });
});

/**
 * The rules of the YAML `alerts` prints, read line by line: the subset it writes (mappings,
 * sequences of mappings, `|` blocks, JSON-quoted strings) — and nothing else, or the check fails.
 */
function readRules(yaml: string): Record<string, string>[] {
  const lines = yaml.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
  assert.equal(lines[0], "groups:");
  assert.match(lines[1]!, /^ {2}- name: \S+$/);
  assert.equal(lines[2], "    rules:");
  const rules: Record<string, string>[] = [];
  let rule: Record<string, string> = {};
  let block: string | null = null;
  for (const line of lines.slice(3)) {
    if (block !== null && line.startsWith(" ".repeat(10))) {
      rule[block] = `${rule[block] ?? ""}${line.trim()}\n`;
      continue;
    }
    block = null;
    const m = /^( {6}- | {8}| {10})([a-z_]+):(?: (.*))?$/.exec(line);
    assert.ok(m !== null, `not in the expected YAML shape: ${JSON.stringify(line)}`);
    const [, indent, key, value] = m as unknown as [string, string, string, string | undefined];
    if (indent === "      - ") rules.push((rule = {}));
    if (value === "|") block = key;
    else if (value !== undefined) rule[key] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return rules;
}

describe("memcachio alerts", () => {
  it("prints alerting rules whose every expression reads exported metrics", async () => {
    const r = await run("alerts", "--prefix", PREFIX);
    assert.equal(r.code, 0, r.err);
    const rules = readRules(r.out);
    const used = new Set<string>();
    for (const rule of rules) {
      assert.match(rule.alert ?? "", /^Memcached[A-Z]\w+$/, JSON.stringify(rule));
      assert.match(rule.for ?? "", /^\d+m$/, rule.alert);
      assert.match(rule.severity ?? "", /^(warning|critical)$/, rule.alert);
      assert.ok((rule.summary ?? "").length > 0 && (rule.description ?? "").length > 0, rule.alert);
      for (const n of checkExpr(`rule ${rule.alert}`, rule.expr ?? "")) used.add(n);
    }
    assert.equal(new Set(rules.map((x) => x.alert)).size, rules.length, "alert names are unique");
    for (const m of ["server_up", "timeouts_total", "commands_total", "hits_total", "misses_total"])
      assert.ok(used.has(PREFIX + m), `${m} alerted on`);
    assert.ok(
      rules.some((x) => /queue_depth/.test(x.expr!) && /queue_limit/.test(x.expr!)),
      "queue depth against its limit",
    );
  });

  it("the default prefix is memcachio_", async () => {
    const [alerts, dashboard] = await Promise.all([run("alerts"), run("dashboard")]);
    assert.match(alerts.out, /memcachio_server_up/);
    assert.match(dashboard.out, /memcachio_command_duration_seconds_bucket/);
    assert.ok(!alerts.out.includes(PREFIX) && !dashboard.out.includes(PREFIX));
  });
});
