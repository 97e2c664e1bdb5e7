#!/usr/bin/env node
/**
 * `npx memcachio check|stats <servers>`: a health check for monitors and a side-by-side stats view.
 *
 *   check  probes every server (its `version`, with a deadline, each on a connection of its own) and
 *          prints one line; exit 0 OK (all up, none slow), 1 WARNING (some down, or slower than
 *          --warn ms), 2 CRITICAL (none up), 3 UNKNOWN (bad usage) — the Nagios plugin convention,
 *          which container health checks read as 0 = healthy.
 *   stats  prints `stats [group]` of every server, one column per server.
 *
 * Servers: `"host:port,host:port"` (or several arguments). Options: --timeout ms (default 1000),
 * --warn ms (check; default: off), --protocol meta|binary|text, --tls (system CAs).
 */
import { parseArgs } from "node:util";
import { Client } from "./client.js";
import type { ClientOptions } from "./options.js";
import { labelOf, parseServers } from "./util/servers.js";

const USAGE =
  "usage: memcachio check|stats <host:port[,host:port…]> [--timeout ms] [--warn ms] [--protocol meta|binary|text] [--tls] [--group name]";

/** Exit codes (Nagios plugin convention). */
const OK = 0;
const WARNING = 1;
const CRITICAL = 2;
const UNKNOWN = 3;

interface Probe {
  label: string;
  ok: boolean;
  ms: number;
  detail: string;
}

/** Runs the CLI with `argv` (without node and the script); returns the exit code. */
async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    out(`UNKNOWN - ${(err as Error).message.split("\n")[0]}`);
    out(USAGE);
    return UNKNOWN;
  }
  return args.command === "check" ? check(args, out) : stats(args, out);
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      timeout: { type: "string", default: "1000" },
      warn: { type: "string" },
      protocol: { type: "string", default: "meta" },
      tls: { type: "boolean", default: false },
      group: { type: "string", default: "" },
    },
  });
  const [command, ...rest] = positionals;
  if (command !== "check" && command !== "stats") throw new Error(`unknown command ${command ?? "(none)"}`);
  if (rest.length === 0) throw new Error("no servers given");
  const servers = parseServers(rest.join(","));
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new Error("--timeout must be a positive number of ms");
  const warn = values.warn === undefined ? Number.POSITIVE_INFINITY : Number(values.warn);
  if (!(warn > 0)) throw new Error("--warn must be a positive number of ms");
  if (values.protocol !== "meta" && values.protocol !== "binary" && values.protocol !== "text")
    throw new Error("--protocol must be meta, binary or text");
  return {
    command,
    labels: servers.map(labelOf),
    timeout,
    warn,
    options: {
      protocol: values.protocol,
      tls: values.tls,
      timeout,
      connectTimeout: timeout,
      retries: { attempts: 0 },
      pool: { min: 1, max: 1 },
    } satisfies Partial<ClientOptions>,
    group: values.group,
  };
}

async function check(args: ReturnType<typeof parse>, out: (line: string) => void): Promise<number> {
  const probes = await Promise.all(args.labels.map((label) => probe(label, args.options)));
  const up = probes.filter((p) => p.ok);
  const slow = up.filter((p) => p.ms > args.warn);
  const code = up.length === 0 ? CRITICAL : up.length < probes.length || slow.length > 0 ? WARNING : OK;
  const status = ["OK", "WARNING", "CRITICAL"][code];
  const max = up.length === 0 ? "" : `, slowest ${Math.max(...up.map((p) => p.ms)).toFixed(1)} ms`;
  const down = probes.filter((p) => !p.ok).map((p) => `${p.label} ${p.detail}`);
  const slowText = slow.map((p) => `${p.label} slow (${p.ms.toFixed(1)} ms)`);
  const problems = [...down, ...slowText];
  const perf = probes.map((p) => `'${p.label}'=${p.ok ? `${p.ms.toFixed(3)}ms` : "U"}`).join(" ");
  out(
    `MEMCACHED ${status} - ${up.length}/${probes.length} servers up${max}${problems.length > 0 ? `; ${problems.join("; ")}` : ""} | ${perf}`,
  );
  return code;
}

async function probe(label: string, options: Partial<ClientOptions>): Promise<Probe> {
  const mc = new Client({ ...options, servers: [label] });
  const t0 = performance.now();
  try {
    const v = (await mc.version())[label];
    if (v === undefined) return { label, ok: false, ms: performance.now() - t0, detail: "down" };
    return { label, ok: true, ms: performance.now() - t0, detail: v };
  } catch (err) {
    return { label, ok: false, ms: performance.now() - t0, detail: `down (${(err as Error).message})` };
  } finally {
    await mc.close();
  }
}

async function stats(args: ReturnType<typeof parse>, out: (line: string) => void): Promise<number> {
  const results = await Promise.all(
    args.labels.map(async (label) => {
      const mc = new Client({ ...args.options, servers: [label] });
      try {
        return (await mc.stats(args.group))[label] ?? null;
      } catch {
        return null;
      } finally {
        await mc.close();
      }
    }),
  );
  const names: string[] = [];
  const seen = new Set<string>();
  for (const r of results) {
    for (const n of Object.keys(r ?? {})) {
      if (!seen.has(n)) {
        seen.add(n);
        names.push(n);
      }
    }
  }
  const cells = results.map((r) => (r === null ? names.map(() => "(down)") : names.map((n) => r[n] ?? "")));
  const widths = args.labels.map((l, i) => Math.max(l.length, ...cells[i]!.map((c) => c.length)));
  const first = Math.max(4, ...names.map((n) => n.length));
  out(["stat".padEnd(first), ...args.labels.map((l, i) => l.padStart(widths[i]!))].join("  "));
  if (names.length === 0) out("(no server answered)");
  for (const [row, n] of names.entries()) {
    out([n.padEnd(first), ...cells.map((c, i) => c[row]!.padStart(widths[i]!))].join("  "));
  }
  const answered = results.filter((r) => r !== null).length;
  return answered === 0 ? CRITICAL : answered < results.length ? WARNING : OK;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.log(`UNKNOWN - ${String((err as Error)?.message ?? err).split("\n")[0]}`);
    process.exitCode = UNKNOWN;
  },
);
