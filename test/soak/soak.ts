/**
 * The chaos soak: 3 real memcached servers, `replicas: 2` (or as asked), concurrent workers doing get, set,
 * getMany, delete, fetch and setMany, while a chaos loop kills, pauses and restarts servers (one at a
 * time). Every value is `<key>#<version>`. Checked on every reply and at the end:
 *
 * - a value belongs to the key asked for, and is a version that was written (≤ the last one tried);
 * - no caller waits past its deadline, beyond the event loop's stalls around the call (a busy machine
 *   descheduling this process shows as one: see loop-stalls.ts);
 * - failures are only the expected kinds (connection, timeout, unavailable, queue full), typed;
 * - no unhandled rejection;
 * - heap and handle counts flat from the first third to the last.
 *
 * `runSoak` returns a summary with `violations`; `npm run soak -- --seconds N` prints it and exits 1
 * on any violation.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  Client,
  ConnectionError,
  MemcachedError,
  NoServersError,
  QueueFullError,
  type Protocol,
  TimeoutError,
} from "../../src/index.ts";
import { LoopStalls } from "../support/loop-stalls.ts";
import { type MemcachedServer, sleep, startMemcached } from "../support/memcached.ts";

export interface SoakSummary {
  seconds: number;
  ops: Record<string, number>;
  errors: Record<string, number>;
  worstMs: Record<string, number>;
  chaos: string[];
  heapMiB: { first: number; last: number };
  handles: { first: number; last: number };
  /** The event loop's stalls: all of them, and the longest, ms. */
  stalledMs: { total: number; longest: number };
  violations: string[];
}

const DEADLINE = 200;
const KEYS = 400;
const WORKERS = 32;

// A real GC between samples, so heap numbers compare live data, not garbage not yet collected.
setFlagsFromString("--expose_gc");
const gc = runInNewContext("gc") as () => void;

export async function runSoak(
  seconds: number,
  log: (line: string) => void = () => {},
  protocol: Protocol = "meta",
  replicas = 2,
): Promise<SoakSummary> {
  const violations: string[] = [];
  const violate = (v: string) => {
    if (violations.length < 50) violations.push(v);
  };
  const onUnhandled = (e: unknown) => violate(`unhandled rejection: ${String(e)}`);
  process.on("unhandledRejection", onUnhandled);

  const stalls = new LoopStalls();
  const servers: MemcachedServer[] = await Promise.all([
    startMemcached(),
    startMemcached(),
    startMemcached(),
  ]);
  const mc = new Client({
    protocol,
    servers: servers.map((s) => s.label),
    replicas,
    timeout: DEADLINE,
    failover: { failureThreshold: 2, retryDelay: 200, maxRetryDelay: 1000 },
  });
  const keys = Array.from({ length: KEYS }, (_, i) => `soak:${i}`);
  const written = new Map<string, number>(keys.map((k) => [k, 0]));
  const ops: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const worst: Record<string, number> = {};
  const chaos: string[] = [];

  const nextValue = (k: string) => {
    const v = written.get(k)! + 1;
    written.set(k, v);
    return `${k}#${v}`;
  };
  const check = (k: string, v: unknown, op: string) => {
    if (v === undefined) return;
    if (typeof v !== "string") return violate(`${op} ${k}: not a string: ${String(v)}`);
    const hash = v.lastIndexOf("#");
    if (v.slice(0, hash) !== k) return violate(`${op} ${k}: got another key's value ${JSON.stringify(v)}`);
    const version = Number(v.slice(hash + 1));
    if (!(version >= 1 && version <= written.get(k)!))
      violate(`${op} ${k}: version ${version} was never written`);
  };
  const expected = (e: unknown) =>
    e instanceof ConnectionError ||
    e instanceof TimeoutError ||
    e instanceof QueueFullError ||
    e instanceof NoServersError;
  const pick = () => keys[Math.floor(Math.random() * KEYS)]!;

  async function op(name: string, limit: number, run: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    try {
      await run();
      ops[name] = (ops[name] ?? 0) + 1;
    } catch (e) {
      const kind = e instanceof MemcachedError ? e.name : `unexpected ${(e as Error)?.name}`;
      errors[kind] = (errors[kind] ?? 0) + 1;
      if (!expected(e)) violate(`${name}: unexpected error ${String(e)}`);
    }
    const ms = performance.now() - t0;
    worst[name] = Math.max(worst[name] ?? 0, ms);
    const late = stalls.lateness(name, t0, ms, limit);
    if (late !== null) violate(late);
  }

  let stop = false;
  const worker = async () => {
    while (!stop) {
      const r = Math.random();
      const k = pick();
      if (r < 0.4) await op("get", DEADLINE, async () => check(k, await mc.get(k), "get"));
      else if (r < 0.6) await op("set", DEADLINE, async () => void (await mc.set(k, nextValue(k))));
      else if (r < 0.7) {
        const many = [k, pick(), pick(), pick(), pick()];
        await op("getMany", DEADLINE, async () => {
          for (const [mk, v] of await mc.getMany(many)) check(mk as string, v, "getMany");
        });
      } else if (r < 0.8) await op("delete", DEADLINE, async () => void (await mc.delete(k)));
      else if (r < 0.9 && protocol !== "meta") {
        // fetch is meta-only: the binary and text soaks read with gets instead.
        await op("gets", DEADLINE, async () => check(k, (await mc.gets(k))?.value, "gets"));
      } else if (r < 0.9) {
        // Waiting for another loader is bounded by the deadline; then the load and the write-back.
        await op("fetch", 3 * DEADLINE, async () =>
          check(k, await mc.fetch(k, () => nextValue(k), { ttl: 30, lockTtl: 2 }), "fetch"),
        );
      } else {
        const a = pick();
        const b = pick();
        await op(
          "setMany",
          DEADLINE,
          async () =>
            void (await mc.setMany([
              [a, nextValue(a)],
              [b, nextValue(b)],
            ])),
        );
      }
    }
  };

  // Chaos: one server at a time is killed (then restarted empty), paused (then resumed), or restarted.
  const chaosLoop = async () => {
    while (!stop) {
      await sleep(1500 + Math.random() * 1500);
      if (stop) break;
      const i = Math.floor(Math.random() * servers.length);
      const s = servers[i]!;
      const action = ["kill", "pause", "restart"][Math.floor(Math.random() * 3)]!;
      chaos.push(`${((performance.now() - started) / 1000).toFixed(1)}s ${action} #${i}`);
      if (action === "kill") {
        await s.kill();
        await sleep(1000 + Math.random() * 1000);
        await s.start(s.port);
      } else if (action === "pause") {
        await s.pause();
        await sleep(1000 + Math.random() * 1000);
        s.resume();
      } else await s.restart();
    }
  };

  const samples: { heap: number; handles: number }[] = [];
  const sampler = setInterval(() => {
    gc();
    samples.push({ heap: process.memoryUsage().heapUsed, handles: process.getActiveResourcesInfo().length });
  }, 250);

  const started = performance.now();
  const running = [chaosLoop(), ...Array.from({ length: WORKERS }, worker)];
  try {
    await sleep(seconds * 1000);
  } finally {
    // Whatever failed, the servers go (a paused one resumed first) and nothing keeps running.
    stop = true;
    await Promise.allSettled(running);
    clearInterval(sampler);
    stalls.stop();
    for (const server of servers) server.resume();
    await mc.close();
    await Promise.all(servers.map((s) => s.kill()));
    process.off("unhandledRejection", onUnhandled);
  }
  await Promise.all(running); // a chaos step that threw (a restart that failed) is a failure

  const third = Math.max(1, Math.floor(samples.length / 3));
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const first = samples.slice(0, third);
  const last = samples.slice(-third);
  const heap = {
    first: avg(first.map((s) => s.heap)) / 1048576,
    last: avg(last.map((s) => s.heap)) / 1048576,
  };
  const handles = { first: avg(first.map((s) => s.handles)), last: avg(last.map((s) => s.handles)) };
  if (heap.last > heap.first * 1.5 + 16)
    violate(`heap grew: ${heap.first.toFixed(1)} → ${heap.last.toFixed(1)} MiB`);
  if (handles.last > handles.first + 16)
    violate(`handles grew: ${handles.first.toFixed(0)} → ${handles.last.toFixed(0)}`);
  const summary: SoakSummary = {
    seconds,
    ops,
    errors,
    worstMs: Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, Math.round(v)])),
    chaos,
    heapMiB: { first: Math.round(heap.first * 10) / 10, last: Math.round(heap.last * 10) / 10 },
    handles: { first: Math.round(handles.first), last: Math.round(handles.last) },
    stalledMs: { total: Math.round(stalls.total), longest: Math.round(stalls.longest) },
    violations,
  };
  log(JSON.stringify(summary, null, 1));
  return summary;
}
