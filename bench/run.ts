/**
 * `npm run bench`: starts its own memcached (`-t 1`, and a second one with TLS), then measures memcachio
 * (meta; binary; meta over TLS), the peer clients and a raw-socket ceiling on the same workloads, in alternating rounds, and prints a table of medians with
 * ratios to the best peer and to the ceiling. Writes `bench/results/latest.json`. Then runs the
 * tinybench micro benches (parser, encoder).
 *
 * Options: `--seconds S` per run (default 1), `--rounds R` (default 3), `--only a,b` contenders,
 * `--no-micro`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { startMemcached } from "../test/support/memcached.ts";
import { startTlsMemcached, testPki } from "../test/support/secure.ts";
import { concurrent, median } from "./harness.ts";
import {
  type Contender,
  memcacheClient,
  memcachedClient,
  memcachio,
  memjsClient,
  RawSocket,
} from "./contenders.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    only: { type: "string" },
    "no-micro": { type: "boolean", default: false },
  },
});
const RUN_MS = Math.max(100, Number(args.seconds) * 1000);
const ROUNDS = Math.max(1, Number(args.rounds));

const KEYS = 10_000;
/** Read by every client: a plain string (flags 0), which each peer's default codec understands. */
const GET_VALUE = "a".repeat(100);
const SET_VALUE = Buffer.alloc(1024, 0x62);
const CONCURRENCY = 256;
const MANY = 100;
const MANY_CONCURRENCY = 8;
// Keys are made once, as the raw ceiling's requests are: the loop measures the clients, not key building.
const GET_KEYS = Array.from({ length: KEYS }, (_, i) => `bench:get:${String(i).padStart(5, "0")}`);
const SET_KEYS = Array.from({ length: KEYS }, (_, i) => `bench:set:${String(i).padStart(5, "0")}`);
const getKey = (i: number) => GET_KEYS[i % KEYS]!;
const setKey = (i: number) => SET_KEYS[i % KEYS]!;

type Workload =
  | "sequential get"
  | "256 concurrent gets (100 B)"
  | "256 concurrent sets (1 KiB)"
  | "getMany 100 keys ×8";
const WORKLOADS: Workload[] = [
  "sequential get",
  "256 concurrent gets (100 B)",
  "256 concurrent sets (1 KiB)",
  "getMany 100 keys ×8",
];

interface Sample {
  opsPerSec: number;
  p50?: number;
  p99?: number;
}

/** Failed calls per client (a peer that errors is reported, not allowed to end the bench). */
const failures = new Map<string, number>();
let current = "";

/** Counts a failed call against the client being measured. */
function countFailure(): void {
  failures.set(current, (failures.get(current) ?? 0) + 1);
}

async function sequential(op: (i: number) => Promise<unknown>, ms: number): Promise<Sample> {
  const lat: number[] = [];
  const end = performance.now() + ms;
  for (let i = 0; performance.now() < end; i++) {
    const t = performance.now();
    await op(i);
    lat.push(performance.now() - t);
  }
  return latencySample(lat, ms);
}

function latencySample(lat: number[], ms: number): Sample {
  const sorted = Float64Array.from(lat).sort();
  return {
    opsPerSec: (lat.length / ms) * 1000,
    p50: sorted[Math.floor(sorted.length * 0.5)]! * 1000,
    p99: sorted[Math.floor(sorted.length * 0.99)]! * 1000,
  };
}

async function runClient(c: Contender, w: Workload, ms: number): Promise<Sample> {
  switch (w) {
    case "sequential get":
      return sequential((i) => c.get(getKey(i)), ms);
    case "256 concurrent gets (100 B)":
      return { opsPerSec: await concurrent((i) => c.get(getKey(i)), CONCURRENCY, ms, countFailure) };
    case "256 concurrent sets (1 KiB)":
      return {
        opsPerSec: await concurrent((i) => c.set(setKey(i), SET_VALUE), CONCURRENCY, ms, countFailure),
      };
    case "getMany 100 keys ×8": {
      const batches = Array.from({ length: 64 }, (_, b) =>
        Array.from({ length: MANY }, (_, i) => getKey(b * MANY + i)),
      );
      const perSec = await concurrent(
        (i) => c.getMany(batches[i % batches.length]!),
        MANY_CONCURRENCY,
        ms,
        countFailure,
      );
      return { opsPerSec: perSec * MANY }; // keys per second
    }
  }
}

// Raw ceilings: fixed-length keys and values make every reply the same size.
const rawGet = (i: number) => Buffer.from(`mg ${getKey(i)} v f\r\n`);
const RAW_GET_REPLY = `VA 100 f0\r\n`.length + 100 + 2;
const rawSet = (i: number) =>
  Buffer.concat([Buffer.from(`ms ${setKey(i)} 1024 T0\r\n`), SET_VALUE, Buffer.from("\r\n")]);
const RAW_SET_REPLY = "HD\r\n".length;
const rawMany = (b: number) =>
  Buffer.concat([
    ...Array.from({ length: MANY }, (_, i) => Buffer.from(`mg ${getKey(b * MANY + i)} v f q\r\n`)),
    Buffer.from("mn\r\n"),
  ]);

/**
 * The raw ceilings. `batches` is the issue's: pipelined batches, each written at once and awaited whole.
 * `window` is stricter: a sliding window that tops up the moment replies arrive.
 */
async function runRaw(raw: RawSocket, w: Workload, ms: number, mode: "batches" | "window"): Promise<Sample> {
  const run = (units: Buffer[], reply: number, inFlight: number) =>
    mode === "batches" ? raw.batches(units, reply, inFlight, ms) : raw.window(units, reply, inFlight, ms);
  switch (w) {
    case "sequential get":
      return latencySample(await raw.sequential(rawGet(1), RAW_GET_REPLY, ms), ms);
    case "256 concurrent gets (100 B)":
      return { opsPerSec: await run(range(1024).map(rawGet), RAW_GET_REPLY, CONCURRENCY) };
    case "256 concurrent sets (1 KiB)":
      return { opsPerSec: await run(range(1024).map(rawSet), RAW_SET_REPLY, CONCURRENCY) };
    case "getMany 100 keys ×8":
      return {
        opsPerSec: (await run(range(64).map(rawMany), RAW_GET_REPLY * MANY + 4, MANY_CONCURRENCY)) * MANY,
      };
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

async function main(): Promise<void> {
  const server = await startMemcached({ threads: 1, memory: 512 });
  const label = server.label;
  // The TLS row talks to a second memcached, identical but for -Z (test CA made with openssl).
  const tlsServer = await startTlsMemcached({ threads: 1, memory: 512 });
  const tls = { ca: testPki().ca };
  const factories: Record<string, () => Contender> = {
    memcachio: () => memcachio(label),
    "memcachio binary": () => memcachio(label, "memcachio binary", { protocol: "binary" }),
    "memcachio tls": () => memcachio(tlsServer.label, "memcachio tls", { tls }),
    memjs: () => memjsClient(label),
    memcached: () => memcachedClient(label),
    "memcache-client": () => memcacheClient(label),
  };
  const only = args.only?.split(",");
  const RAW = ["raw batches", "raw window"];
  const names = [...Object.keys(factories), ...RAW].filter((n) => only === undefined || only.includes(n));
  const peers = names.filter((n) => !n.startsWith("memcachio") && !RAW.includes(n));

  // Populate the keys the gets read, on both servers.
  for (const loader of [memcachio(label), memcachio(tlsServer.label, "loader", { tls })]) {
    for (let i = 0; i < KEYS; i += 500) {
      await Promise.all(range(Math.min(500, KEYS - i)).map((j) => loader.set(getKey(i + j), GET_VALUE)));
    }
    await loader.close();
  }

  const clients = new Map<string, Contender>();
  for (const n of names) if (!RAW.includes(n)) clients.set(n, factories[n]!());
  const raw = new RawSocket(server.host, server.port);
  await raw.open();

  const samples = new Map<string, Sample[]>();
  const run = async (name: string, w: Workload, ms: number) => {
    const c = clients.get(name);
    current = name;
    if (c !== undefined) return runClient(c, w, ms);
    return runRaw(raw, w, ms, name === "raw batches" ? "batches" : "window");
  };

  process.stdout.write(`bench: ${names.join(", ")}; ${ROUNDS} rounds × ${RUN_MS} ms per workload\n`);
  for (const w of WORKLOADS) {
    for (const n of names) await run(n, w, Math.min(300, RUN_MS)); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the order each round so no client always runs first or last.
      const order = r % 2 === 0 ? names : [...names].reverse();
      for (const n of order) {
        const s = await run(n, w, RUN_MS);
        const k = `${w}|${n}`;
        samples.set(k, [...(samples.get(k) ?? []), s]);
      }
    }
    process.stdout.write(`  done: ${w}\n`);
  }
  for (const c of clients.values()) await c.close();
  raw.close();
  const version = await serverVersion(server.host, server.port);
  await server.kill();
  await tlsServer.kill();

  // Table of medians.
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (x: number) => Math.round(x).toLocaleString("en-US");
  lines.push(
    `${pad("workload", 30)}${pad("client", 17)}${pad("ops/s", 12)}${pad("p50 µs", 9)}${pad("p99 µs", 9)}${pad("× best peer", 13)}${pad("% raw batches", 15)}% raw window`,
  );
  for (const w of WORKLOADS) {
    const med = (n: string) => {
      const ss = samples.get(`${w}|${n}`) ?? [];
      return {
        opsPerSec: median(ss.map((s) => s.opsPerSec)),
        p50: ss[0]?.p50 === undefined ? undefined : median(ss.map((s) => s.p50!)),
        p99: ss[0]?.p99 === undefined ? undefined : median(ss.map((s) => s.p99!)),
      };
    };
    const bestPeer = Math.max(0, ...peers.map((p) => med(p).opsPerSec));
    const rawBatches = names.includes("raw batches") ? med("raw batches").opsPerSec : 0;
    const rawWindow = names.includes("raw window") ? med("raw window").opsPerSec : 0;
    const pct = (x: number | undefined) => (x === undefined ? "" : `${(x * 100).toFixed(0)} %`);
    for (const n of names) {
      const m = med(n);
      const vsPeer = bestPeer > 0 && !RAW.includes(n) ? m.opsPerSec / bestPeer : undefined;
      const vsRawBatches = rawBatches > 0 ? m.opsPerSec / rawBatches : undefined;
      const vsRawWindow = rawWindow > 0 ? m.opsPerSec / rawWindow : undefined;
      rows.push({ workload: w, client: n, ...m, vsBestPeer: vsPeer, vsRawBatches, vsRawWindow });
      lines.push(
        `${pad(w, 30)}${pad(n, 17)}${pad(num(m.opsPerSec), 12)}${pad(m.p50 === undefined ? "" : m.p50.toFixed(1), 9)}${pad(m.p99 === undefined ? "" : m.p99.toFixed(1), 9)}${pad(vsPeer === undefined ? "" : `${vsPeer.toFixed(2)}×`, 13)}${pad(pct(vsRawBatches), 15)}${pct(vsRawWindow)}`,
      );
    }
  }
  console.log(
    `\nmemcached ${version} (-t 1), node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}`,
  );
  console.log("getMany rows count keys per second; sequential get p50/p99 are per call.");
  console.log(
    "raw batches: pre-formatted pipelined batches on a bare socket, each awaited whole (the issue's ceiling);\n" +
      "raw window: a sliding window that tops up as replies arrive (a stricter ceiling). Neither parses replies.\n",
  );
  // The protocol and TLS variants against memcachio's meta row.
  const variants = names.filter((n) => n.startsWith("memcachio ") && names.includes("memcachio"));
  for (const w of variants.length > 0 ? WORKLOADS : []) {
    const ops = (n: string) => median((samples.get(`${w}|${n}`) ?? []).map((s) => s.opsPerSec));
    const meta = ops("memcachio");
    const parts = variants.map(
      (n) => `${n.slice("memcachio ".length)} ${((ops(n) / meta) * 100).toFixed(0)} %`,
    );
    lines.push(`${pad(w, 30)}vs memcachio meta: ${parts.join(", ")}`);
  }
  console.log(lines.join("\n"));
  for (const [n, count] of failures) console.log(`note: ${n} had ${count} failed calls (not counted as ops)`);
  const dir = new URL("./results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    new URL("latest.json", dir),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        memcached: version,
        cpus: os.cpus().length,
        runMs: RUN_MS,
        rounds: ROUNDS,
        rows,
        failures: Object.fromEntries(failures),
        samples: Object.fromEntries(samples),
      },
      null,
      1,
    )}\n`,
  );
  console.log("\nwrote bench/results/latest.json");
  if (!args["no-micro"]) {
    const { runMicro } = await import("./micro.ts");
    await runMicro();
  }
}

async function serverVersion(host: string, port: number): Promise<string> {
  const { Client } = await import("../src/index.ts");
  const mc = new Client({ servers: [`${host}:${port}`] });
  try {
    return Object.values(await mc.version())[0] ?? "?";
  } finally {
    await mc.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
