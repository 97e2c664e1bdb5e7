/**
 * `npm run bench:hedge`: tail latency with and without hedged reads. Two memcached replicas, each
 * behind the fault proxy (in a process of its own); one of them now and then holds a reply chunk for
 * 30–50 ms, and the replies behind it on that connection wait too — a server slow for a moment, as a
 * GC-paused neighbour or a busy NIC makes it (with the defaults, about 1 % of reads without hedging
 * take over 25 ms). Reads are offered
 * at a fixed rate (open loop: a read's latency counts from when it was due, not from when a busy
 * client got round to it), in alternating rounds per mode. Prints p50, p99, p99.9, the share of reads
 * over 25 ms, and the extra load the hedges put on the servers (`get_hits + get_misses` over reads).
 * Reads that fail are counted in the errors column, not in the percentiles.
 *
 * Options: `--rate N` reads/s (default 3000), `--seconds S` per round (3), `--rounds R` (3),
 * `--share F` of the slow replica's reply chunks held (0.002); `--stall` instead makes the slow
 * replica hold all its replies for 40 ms every 1.5 s (a burst of slow reads: the hedge budget's
 * window is what lets them be hedged).
 */
import { type ChildProcess, fork } from "node:child_process";
import { parseArgs } from "node:util";
import { Client, type ClientOptions, HashRing } from "../src/index.ts";
import { startMemcached } from "../test/support/memcached.ts";

/** A fault proxy in its own process (see `proxy-process.ts`). */
class ProxyProcess {
  port = 0;
  readonly #child: ChildProcess;
  readonly #ready: Promise<void>;
  constructor(target: { host: string; port: number }) {
    this.#child = fork(new URL("./proxy-process.ts", import.meta.url), [target.host, String(target.port)], {
      execArgv: process.execArgv,
    });
    this.#ready = new Promise((resolve) =>
      this.#child.once("message", (m: { port: number }) => {
        this.port = m.port;
        resolve();
      }),
    );
  }
  get label(): string {
    return `127.0.0.1:${this.port}`;
  }
  ready(): Promise<void> {
    return this.#ready;
  }
  /** Sets the proxy's mode; resolves with the reply chunks it has held so far. */
  set(m: Record<string, unknown>): Promise<number> {
    return new Promise((resolve) => {
      this.#child.once("message", (r: { delayed: number }) => resolve(r.delayed));
      this.#child.send(m);
    });
  }
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#child.once("exit", () => resolve());
      this.#child.send({ stop: true });
    });
  }
}

const { values: args } = parseArgs({
  options: {
    rate: { type: "string", default: "3000" },
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "3" },
    share: { type: "string", default: "0.002" },
    stall: { type: "boolean", default: false },
  },
});
const RATE = Number(args.rate);
const MS = Number(args.seconds) * 1000;
const ROUNDS = Number(args.rounds);
const KEYS = Array.from({ length: 1000 }, (_, i) => `hedge:${i}`);

const MODES: { name: string; hedge: ClientOptions["hedge"] | undefined }[] = [
  { name: "no hedging", hedge: undefined },
  { name: 'hedge after "p95"', hedge: { after: "p95", maxExtraLoad: 0.05 } },
  { name: "hedge after 5 ms", hedge: { after: 5, maxExtraLoad: 0.05 } },
];

const servers = await Promise.all([startMemcached({ threads: 1 }), startMemcached({ threads: 1 })]);
const proxies = servers.map((s) => new ProxyProcess(s));
await Promise.all(proxies.map((p) => p.ready()));
const labels = proxies.map((p) => p.label);
const loader = new Client({ servers: labels, replicas: 2 });
await Promise.all(KEYS.map((k) => loader.set(k, "v".repeat(100))));
await loader.close();
const ring = new HashRing(labels);
const onSlow = KEYS.filter((k) => ring.serverFor(k) === labels[0]).length / KEYS.length;

async function getsServed(): Promise<number> {
  const c = new Client({ servers: labels });
  const st = await c.stats();
  await c.close();
  return Object.values(st).reduce((n, s) => n + Number(s.get_hits) + Number(s.get_misses), 0);
}

/** One round: `RATE` reads/s for `MS`, open loop; latencies from each read's due time, ms. */
async function round(hedge: ClientOptions["hedge"] | undefined) {
  const c = new Client({
    servers: labels,
    replicas: 2,
    timeout: 1000,
    ...(hedge === undefined ? {} : { hedge }),
  });
  await Promise.all(KEYS.slice(0, 100).map((k) => c.get(k))); // connect, and first latency samples
  const slow = proxies[0]!;
  if (args.stall) await slow.set({ stallEvery: 1500, stallMs: 40 });
  else await slow.set({ mode: "delay-some", delayShare: Number(args.share), delayMs: 30, jitterMs: 20 });
  const before = await getsServed();
  const hedgesBefore = c.health().hedges;
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.floor((RATE * MS) / 1000);
  const t0 = performance.now();
  let sent = 0;
  const inFlight: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * RATE) / 1000));
      for (; sent < due; sent++) {
        const dueAt = t0 + (sent * 1000) / RATE;
        inFlight.push(
          c.get(KEYS[sent % KEYS.length]!).then(
            () => {
              latencies.push(performance.now() - dueAt);
            },
            () => {
              errors++;
            },
          ),
        );
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  await slow.set(args.stall ? { stallEvery: 0 } : { mode: "pass" });
  const served = (await getsServed()) - before;
  const h = c.health().hedges;
  await c.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
  return {
    reads: total,
    errors,
    p50: q(0.5),
    p99: q(0.99),
    p999: q(0.999),
    extraLoad: served / total - 1,
    hedges: h.sent - hedgesBefore.sent,
    won: h.won - hedgesBefore.won,
    slowShare: latencies.filter((l) => l > 25).length / latencies.length,
  };
}

const results = new Map<string, Awaited<ReturnType<typeof round>>[]>(MODES.map((m) => [m.name, []]));
const slowness = args.stall
  ? "which holds all its replies for 40 ms every 1.5 s"
  : `which holds ${(Number(args.share) * 100).toFixed(1)} % of its reply chunks 30–50 ms`;
console.log(
  `bench:hedge: 2 replicas, ${(onSlow * 100).toFixed(0)} % of keys read first from the slow one, ${slowness}; ${RATE} reads/s offered, ${ROUNDS} rounds × ${MS / 1000} s per mode`,
);
for (let r = 0; r < ROUNDS; r++) {
  for (const m of MODES) results.get(m.name)!.push(await round(m.hedge));
  process.stdout.write(`  round ${r + 1} done\n`);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (cells: string[]) => cells.map((c, i) => c.padEnd([22, 9, 9, 10, 9, 12, 9, 7, 0][i]!)).join("");
console.log(
  `\n${row(["mode", "p50 ms", "p99 ms", "p99.9 ms", "> 25 ms", "extra load", "hedges", "won", "errors"])}`,
);
for (const m of MODES) {
  const rs = results.get(m.name)!;
  const f = (pick: (x: (typeof rs)[number]) => number, d = 2) => med(rs.map(pick)).toFixed(d);
  const pct = (pick: (x: (typeof rs)[number]) => number, d: number) =>
    `${(med(rs.map(pick)) * 100).toFixed(d)} %`;
  const cells = [m.name, f((x) => x.p50), f((x) => x.p99), f((x) => x.p999), pct((x) => x.slowShare, 2)];
  cells.push(
    pct((x) => x.extraLoad, 1),
    f((x) => x.hedges, 0),
    f((x) => x.won, 0),
    f((x) => x.errors, 0),
  );
  console.log(row(cells));
}
console.log("medians over the rounds; extra load = gets the servers served / reads made − 1");
await Promise.all(proxies.map((p) => p.stop()));
await Promise.all(servers.map((s) => s.kill()));
