/**
 * The bench's workloads, shared by the orchestrator (`run.ts`) and the process that runs one contender
 * (`contender-process.ts`): the keys and values, and how each contender (a client or a raw ceiling)
 * runs each workload for a given time.
 */
import { BENCH_KEYS, concurrent } from "./harness.ts";
import type { Contender, RawSocket } from "./contenders.ts";

const KEYS = BENCH_KEYS.length;
const SET_VALUE = Buffer.alloc(1024, 0x62);
const CONCURRENCY = 256;
const MANY = 100;
const MANY_CONCURRENCY = 8;
// Keys are made once, as the raw ceiling's requests are: the loop measures the clients, not key building.
const GET_KEYS = BENCH_KEYS;
const SET_KEYS = Array.from({ length: KEYS }, (_, i) => `bench:set:${String(i).padStart(5, "0")}`);
const getKey = (i: number) => GET_KEYS[i % KEYS]!;
const setKey = (i: number) => SET_KEYS[i % KEYS]!;

export type Workload =
  | "sequential get"
  | "256 concurrent gets (100 B)"
  | "256 concurrent sets (1 KiB)"
  | "getMany 100 keys ×8"
  | "getMany 100 keys ×1";
export const WORKLOADS: Workload[] = [
  "sequential get",
  "256 concurrent gets (100 B)",
  "256 concurrent sets (1 KiB)",
  "getMany 100 keys ×8",
  "getMany 100 keys ×1",
];

/** The contenders' names, raw ceilings last (`--only` picks from these). */
export const CONTENDERS = [
  "memcachio",
  "memcachio binary",
  "memcachio tls",
  "memcachio unix",
  "memcachio text",
  "memcachio twemproxy",
  "memjs",
  "memcached",
  "memcache-client",
  "minimal client",
  "raw batches",
  "raw window",
] as const;

/** One measurement: ops (keys, for getMany) per second, and per-call latency for sequential get (µs). */
export interface Sample {
  opsPerSec: number;
  p50?: number;
  p99?: number;
  /** Calls that failed during the run (not counted as ops). */
  failures?: number;
  /**
   * CPU time of the contender's process per operation (getMany: per key), µs: user + system time of
   * all its threads during the run, set by `contender-process.ts`.
   */
  cpuUs?: number;
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

/** Runs workload `w` on client `c` for `ms`. */
export async function runClient(c: Contender, w: Workload, ms: number): Promise<Sample> {
  let failures = 0;
  const countFailure = () => {
    failures++;
  };
  let s: Sample;
  switch (w) {
    case "sequential get":
      s = await sequential((i) => c.get(getKey(i)), ms);
      break;
    case "256 concurrent gets (100 B)":
      s = { opsPerSec: await concurrent((i) => c.get(getKey(i)), CONCURRENCY, ms, countFailure) };
      break;
    case "256 concurrent sets (1 KiB)":
      s = { opsPerSec: await concurrent((i) => c.set(setKey(i), SET_VALUE), CONCURRENCY, ms, countFailure) };
      break;
    case "getMany 100 keys ×8":
    case "getMany 100 keys ×1": {
      const batches = Array.from({ length: 64 }, (_, b) =>
        Array.from({ length: MANY }, (_, i) => getKey(b * MANY + i)),
      );
      const perSec = await concurrent(
        (i) => c.getMany(batches[i % batches.length]!),
        w === "getMany 100 keys ×1" ? 1 : MANY_CONCURRENCY,
        ms,
        countFailure,
      );
      s = { opsPerSec: perSec * MANY }; // keys per second
      break;
    }
  }
  return failures > 0 ? { ...s, failures } : s;
}

// Raw ceilings: fixed-length keys and values make every reply the same size. They cycle over the same
// keys as the clients: memcached's own cost per request depends on how many distinct items a run
// touches (measured: 1,024 keys instead of 10,000 cut its CPU per get by ~25 % and per 1 KiB set by ~40 %).
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
 * The raw ceilings. `batches`: pipelined batches, each written at once and awaited whole.
 * `window` is stricter: a sliding window that tops up the moment replies arrive.
 */
export async function runRaw(
  raw: RawSocket,
  w: Workload,
  ms: number,
  mode: "batches" | "window",
): Promise<Sample> {
  const run = (units: Buffer[], reply: number, inFlight: number) =>
    mode === "batches" ? raw.batches(units, reply, inFlight, ms) : raw.window(units, reply, inFlight, ms);
  switch (w) {
    case "sequential get":
      return latencySample(await raw.sequential(range(KEYS).map(rawGet), RAW_GET_REPLY, ms), ms);
    case "256 concurrent gets (100 B)":
      return { opsPerSec: await run(range(KEYS).map(rawGet), RAW_GET_REPLY, CONCURRENCY) };
    case "256 concurrent sets (1 KiB)":
      return { opsPerSec: await run(range(KEYS).map(rawSet), RAW_SET_REPLY, CONCURRENCY) };
    case "getMany 100 keys ×8":
    case "getMany 100 keys ×1": {
      const inFlight = w === "getMany 100 keys ×1" ? 1 : MANY_CONCURRENCY;
      return { opsPerSec: (await run(range(64).map(rawMany), RAW_GET_REPLY * MANY + 4, inFlight)) * MANY };
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
