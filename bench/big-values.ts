/**
 * `npm run bench:big`: big values. Set and get of 10 KiB, 100 KiB and 1 MiB values, Buffer and
 * string, with 1, 8 and 32 calls in flight, for memcachio beside the minimal client and the peers,
 * each contender in a process of its own (its heap, its CPU time): MB/s of value bytes, and CPU µs
 * of the contender's process per operation. Then a chunked row: 8 MiB values through `bigValues` on
 * a memcached with its default 1 MiB item size (memcachio alone: no peer splits values).
 * "memcachio handed over" is memcachio with `copyBuffers: false` (the caller's Buffer written as it
 * is); "memcachio" copies each Buffer at the call, the default.
 *
 * The cells' memcached runs with `-I 2m`; memcachio gets `maxValueSize` to match. Contenders run one
 * after another, in alternating order over the rounds; the table shows medians over the rounds.
 * Options: `--ms N` per cell (default 300), `--rounds R` (2), `--only a,b` (contenders), `--cells a,b`
 * (only the cells whose name contains one of them, e.g. `--cells "set 100 KiB Buffer"`; no chunked row),
 * `--distinct` (each set writes a value of its own, over more Buffers than are in flight, as an
 * application's freshly made values: by default every set writes one Buffer, which stays in the CPU's
 * cache for a client that writes it as it is).
 */
import { fork } from "node:child_process";
import { parseArgs } from "node:util";
import { Client } from "../src/index.ts";
import { startMemcached } from "../test/support/memcached.ts";
import { type Contender, connected, memcacheClient, memcachio, memjsClient } from "./contenders.ts";
import { MinimalClient } from "./minimal-client.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [10 * KiB, 100 * KiB, MiB];
const KINDS = ["Buffer", "string"] as const;
const OPS = ["set", "get"] as const;
const IN_FLIGHT = [1, 8, 32];
const CONTENDERS = ["memcachio", "memcachio handed over", "minimal client", "memjs", "memcache-client"];
/** Keys per cell: a cell reads back what it wrote. */
const KEYS = 16;

interface Cell {
  size: number;
  kind: (typeof KINDS)[number];
  op: (typeof OPS)[number];
  inFlight: number;
}
/** One cell measured: MB/s of value bytes, CPU µs per operation, calls that failed. */
interface Result {
  mbps: number;
  cpuUs: number;
  failed: number;
}

const CELLS: Cell[] = SIZES.flatMap((size) =>
  KINDS.flatMap((kind) => OPS.flatMap((op) => IN_FLIGHT.map((inFlight) => ({ size, kind, op, inFlight })))),
);
const nameOf = (c: Cell) =>
  `${c.op} ${c.size >= MiB ? `${c.size / MiB} MiB` : `${c.size / KiB} KiB`} ${c.kind} ×${c.inFlight}`;

/** Runs `cell` on `client` for `ms`: `inFlight` loops, each one call at a time. */
async function runCell(client: Contender, cell: Cell, ms: number): Promise<Result> {
  const value = cell.kind === "Buffer" ? Buffer.alloc(cell.size, 0x61) : "a".repeat(cell.size);
  const values =
    args.distinct === true && cell.kind === "Buffer"
      ? Array.from({ length: 2 * Math.max(KEYS, cell.inFlight) }, (_, i) =>
          Buffer.alloc(cell.size, 0x61 + (i % 26)),
        )
      : [value];
  const keys = Array.from({ length: KEYS }, (_, i) => `big:${cell.size}:${cell.kind}:${i}`);
  await Promise.all(keys.map((k) => client.set(k, value)));
  let ops = 0;
  let failed = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: cell.inFlight }, async (_, w) => {
      for (let i = w; performance.now() < end; i += cell.inFlight) {
        const k = keys[i % KEYS]!;
        try {
          if (cell.op === "set") await client.set(k, values[i % values.length]!);
          else if ((await client.get(k)) === undefined) failed++;
          ops++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    mbps: (ops * cell.size) / MiB / seconds,
    cpuUs: ops === 0 ? 0 : (cpu.user + cpu.system) / ops,
    failed,
  };
}

/** The chunked row: 8 MiB values set and read back through `bigValues`, one at a time. */
async function chunkedRow(label: string, ms: number): Promise<Record<string, Result>> {
  const mc = new Client({ servers: [label], timeout: 10_000, bigValues: {} });
  const value = Buffer.alloc(8 * MiB, 0x62);
  const out: Record<string, Result> = {};
  for (const op of OPS) {
    const cell: Cell = { size: 8 * MiB, kind: "Buffer", op, inFlight: 1 };
    const contender: Contender = {
      name: "memcachio",
      get: (k) => mc.get(k),
      set: (k) => mc.set(k, value),
      getMany: (keys) => mc.getMany(keys),
      close: () => mc.close(),
    };
    out[`${op} 8 MiB Buffer ×1 (bigValues)`] = await runCell(contender, cell, ms);
  }
  await mc.close();
  return out;
}

async function contender(name: string, label: string): Promise<Contender> {
  if (name === "memcachio") return memcachio(label, "memcachio", { maxValueSize: 2 * MiB });
  // `copyBuffers: false`: the caller's Buffer is written as it is (see docs/values-and-keys.md).
  if (name === "memcachio handed over")
    return memcachio(label, name, { maxValueSize: 2 * MiB, copyBuffers: false });
  if (name === "memjs") return memjsClient(label);
  if (name === "memcache-client") return memcacheClient(label);
  const [host, port] = [
    label.slice(0, label.lastIndexOf(":")),
    Number(label.slice(label.lastIndexOf(":") + 1)),
  ];
  const minimal = new MinimalClient(() => connected(host, port));
  await minimal.open();
  return minimal;
}

/** In a forked process: one contender through every cell; prints its results as one JSON line. */
async function child(name: string, label: string, plainLabel: string, ms: number): Promise<void> {
  const client = await contender(name, label);
  const results: Record<string, Result> = {};
  for (const cell of chosenCells) results[nameOf(cell)] = await runCell(client, cell, ms);
  await client.close();
  if (name === "memcachio" && args.cells === undefined)
    Object.assign(results, await chunkedRow(plainLabel, ms));
  process.send!(results);
}

const { values: args } = parseArgs({
  options: {
    ms: { type: "string", default: "300" },
    rounds: { type: "string", default: "2" },
    only: { type: "string" },
    contender: { type: "string" },
    label: { type: "string" },
    plain: { type: "string" },
    cells: { type: "string" },
    distinct: { type: "boolean", default: false },
  },
});
const ms = Number(args.ms);
const cellFilter = args.cells?.split(",").map((s) => s.trim());
const chosenCells =
  cellFilter === undefined ? CELLS : CELLS.filter((c) => cellFilter.some((f) => nameOf(c).includes(f)));

async function main(): Promise<void> {
  const big = await startMemcached({ args: ["-I", "2m"], memory: 512 });
  const plain = await startMemcached({ memory: 256 });
  const names = args.only === undefined ? CONTENDERS : args.only.split(",").map((s) => s.trim());
  const rounds = Number(args.rounds);
  const all = new Map<string, Record<string, Result>[]>(names.map((n) => [n, []]));
  console.log(
    `bench:big: ${chosenCells.length} cells × ${names.length} contenders, ${rounds} rounds of ${ms} ms per cell${args.distinct ? ", a Buffer of its own per set" : ""}`,
  );
  try {
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 === 0 ? names : [...names].reverse()) {
        const proc = fork(
          new URL(import.meta.url),
          [
            ...["--contender", name, "--label", big.label, "--plain", plain.label, "--ms", String(ms)],
            ...(args.cells === undefined ? [] : ["--cells", args.cells]),
            ...(args.distinct ? ["--distinct"] : []),
          ],
          {
            execArgv: process.execArgv,
          },
        );
        const results = await new Promise<Record<string, Result>>((resolve, reject) => {
          proc.once("message", (m) => resolve(m as Record<string, Result>));
          proc.once("exit", (code) => reject(new Error(`${name} exited with ${code} before reporting`)));
        });
        proc.kill();
        all.get(name)!.push(results);
      }
      console.log(`  round ${r + 1} done`);
    }
  } finally {
    await Promise.all([big.kill(), plain.kill()]);
  }
  report(names, all);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function report(names: string[], all: Map<string, Record<string, Result>[]>): void {
  const rows = [
    ...chosenCells.map(nameOf),
    ...Object.keys(all.get("memcachio")?.[0] ?? {}).filter((k) => k.includes("bigValues")),
  ];
  const mine = names.filter((n) => n.startsWith("memcachio"));
  const width = [34, ...names.map(() => 22), ...mine.map(() => 12)];
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i] ?? 14)).join("");
  console.log(`\nMB/s of value bytes and client CPU µs per operation (medians over the rounds)`);
  console.log(`÷ minimal: the median over the rounds of each round's ratio (${mine.join(", ")})`);
  console.log(line(["cell", ...names, ...mine.map(() => "÷ minimal")]));
  for (const row of rows) {
    const cells = [row];
    for (const n of names) {
      const rs = all
        .get(n)!
        .map((r) => r[row])
        .filter((x): x is Result => x !== undefined);
      if (rs.length === 0) {
        cells.push("—");
        continue;
      }
      const failed = rs.reduce((s, x) => s + x.failed, 0);
      cells.push(
        `${median(rs.map((x) => x.mbps)).toFixed(0)} MB/s ${median(rs.map((x) => x.cpuUs)).toFixed(0)} µs${failed > 0 ? ` (${failed} failed)` : ""}`,
      );
    }
    const floor = all.get("minimal client")?.map((r) => r[row]?.mbps);
    for (const m of mine) {
      const ours = all.get(m)?.map((r) => r[row]?.mbps);
      const ratio =
        ours === undefined || floor === undefined
          ? Number.NaN
          : median(
              ours
                .map((x, i) => (x ?? Number.NaN) / (floor[i] ?? Number.NaN))
                .filter((x) => !Number.isNaN(x)),
            );
      cells.push(Number.isNaN(ratio) ? "" : `${(ratio * 100).toFixed(0)} %`);
    }
    console.log(line(cells));
  }
}

if (args.contender !== undefined) await child(args.contender, args.label!, args.plain!, ms);
else await main();
