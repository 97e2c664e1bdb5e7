/**
 * `npm run bench:fleet`: a burst of calls over a large fleet (#31's fleet-scale case). 1,000 servers,
 * of which 300 refuse connections (loopback addresses where nothing listens) and 700 are one memcached
 * listening on 700 loopback addresses; a new client sends 2,000 concurrent gets with a 250 ms deadline,
 * so a connection is opened to each server at once. Prints, per round, the time the client took to be
 * made, the time the issuing loop took (the caller's own turn: 2,000 calls in one synchronous loop; of
 * which the event loop's thread waited for a CPU, on Linux), the
 * longest stall of the event loop during the burst (the longest gap between the ticks of a timer of the
 * shortest period; the issuing loop is part of the first), the longest after the issuing loop (the
 * turns in which the client connects, fails and answers), the stalls over 20 ms, and the slowest call.
 *
 * Options: `--rounds R` (default 5), `--servers N` (1,000), `--refusing N` (300), `--gets N` (2,000),
 * `--after MS` (0: the burst starts in the turn the client is made; a service makes its client at start
 * and its burst comes later, which `--after 100` shows), `--built` (the package as published: built
 * first, then loaded from `dist/`; by default the sources run through tsx, whose added function names
 * make code that runs once or twice, as in a first burst, slower), `--grown-fd-table` (the process
 * first opens and closes as many descriptors as the fleet needs, as a service that already held that
 * many sockets would have; see below), `--ping-first` (the client pings every server before the wait:
 * the burst meets a connected fleet whose refusing servers are down already, as in a service that has
 * run a while), `--plain-connects` (no client: `net.connect` to as many refusing
 * addresses, one at a time, printing those that took over 2 ms). Then three changes of the list that
 * replace every server while gets go on: the longest stall and the time until each settled.
 *
 * Why `--grown-fd-table`: the first connects of a new process to a fleet this size block in the kernel.
 * Linux grows a process's descriptor table by doubling it, and when the process has threads (Node
 * does) it waits for an RCU grace period first; that wait sleeps in `socket()` on the event loop's
 * thread, each time the count of descriptors passes a power of two — a cost of the process, not of
 * the client (`net.connect` alone shows it; docs/bench.md has the figures). The table never shrinks,
 * so each process pays it once.
 */
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { parseArgs } from "node:util";
import { freePort, startMemcached } from "../test/support/memcached.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    servers: { type: "string", default: "1000" },
    refusing: { type: "string", default: "300" },
    gets: { type: "string", default: "2000" },
    after: { type: "string", default: "0" },
    built: { type: "boolean", default: false },
    "grown-fd-table": { type: "boolean", default: false },
    "plain-connects": { type: "boolean", default: false },
    "ping-first": { type: "boolean", default: false },
  },
});
if (values["grown-fd-table"]) growDescriptorTable(Number(values.servers) + 100);
if (values["plain-connects"]) {
  await plainConnects(Number(values.servers));
  process.exit(0);
}
type Package = typeof import("../src/index.ts");
if (values.built) execFileSync("npm", ["run", "-s", "build"], { stdio: "ignore" });
const { Client } = (await import(values.built ? "../dist/index.js" : "../src/index.ts")) as Package;
const refusingCount = Number(values.refusing);
const liveCount = Number(values.servers) - refusingCount;
const DEADLINE = 250;
const liveHost = (i: number) => `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`;
const port = await freePort();
const extra = Array.from({ length: liveCount - 1 }, (_, i) => ["-l", liveHost(i + 1)]).flat();
const server = await startMemcached({ host: liveHost(0), port, args: ["-c", "4096", ...extra] });
const servers = [
  ...Array.from({ length: liveCount }, (_, i) => `${liveHost(i)}:${port}`),
  ...Array.from({ length: refusingCount }, (_, i) => `${refusingHost(i)}:1`),
];
const keys = Array.from({ length: Number(values.gets) }, (_, i) => `burst:${i}`);
try {
  console.log(
    `${servers.length} servers (${refusingCount} refusing), ${keys.length} concurrent gets, ${DEADLINE} ms deadline, ${values.built ? "built package" : "sources through tsx"}${values["grown-fd-table"] ? ", descriptor table grown first" : ""}`,
  );
  console.log(
    "round  client made  issuing (waiting for a CPU)  longest stall  after issuing  over 20 ms  slowest call  late calls",
  );
  for (let round = 0; round < Number(values.rounds); round++) {
    const made = performance.now();
    const mc = new Client({ servers, timeout: DEADLINE, failOpen: true });
    const making = performance.now() - made;
    if (values["ping-first"]) await mc.ping().catch(() => undefined);
    if (Number(values.after) > 0) await new Promise((r) => setTimeout(r, Number(values.after)));
    const stalls = watchStalls();
    const waited0 = cpuWaited();
    const t0 = performance.now();
    const took: number[] = [];
    const calls = keys.map(async (k) => {
      const start = performance.now();
      await mc.get(k);
      took.push(performance.now() - start);
    });
    const issued = performance.now();
    const waited = cpuWaited() - waited0;
    await Promise.all(calls);
    const gaps = stalls.stop();
    const longest = Math.max(...gaps.map((g) => g.length));
    const afterIssuing = Math.max(0, ...gaps.filter((g) => g.start >= issued).map((g) => g.length));
    const over20 = gaps.filter((g) => g.length > 20).length;
    const slowest = Math.max(...took);
    const late = took.filter((t) => t > DEADLINE + 20).length;
    console.log(
      `${String(round).padStart(5)}  ${making.toFixed(0).padStart(8)} ms  ${(issued - t0).toFixed(1).padStart(5)} ms ${(Number.isNaN(waited) ? "(n/a)" : `(${waited.toFixed(1)} ms)`).padStart(10)}            ${longest.toFixed(1).padStart(10)} ms  ${afterIssuing.toFixed(1).padStart(10)} ms  ${String(over20).padStart(10)}  ${slowest.toFixed(0).padStart(9)} ms  ${String(late).padStart(10)}`,
    );
    await mc.close();
  }
  await listChanges();
} finally {
  await server.kill();
}

/**
 * A list change that replaces every server (a new list of as many, on other ports) while gets go on,
 * three times: the longest stall of the event loop and the time until the change settled.
 */
async function listChanges(): Promise<void> {
  console.log(`\nlist change: ${servers.length} servers replaced by ${servers.length} others, gets going on`);
  console.log("change  longest stall  settled in");
  const mc = new Client({ servers, timeout: DEADLINE, failOpen: true });
  let going = true;
  const traffic = (async () => {
    for (let i = 0; going; i++) await mc.get(keys[i % keys.length]!);
  })();
  try {
    for (let change = 1; change <= 3; change++) {
      const next = servers.map((label) => label.replace(/:(\d+)$/, (_, p) => `:${Number(p) + change}`));
      const stalls = watchStalls();
      const t0 = performance.now();
      await mc.setServers(next);
      const settled = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 50)); // the servers it left close meanwhile
      const longest = Math.max(...stalls.stop().map((g) => g.length));
      console.log(
        `${String(change).padStart(6)}  ${longest.toFixed(1).padStart(10)} ms  ${settled.toFixed(0).padStart(7)} ms`,
      );
    }
  } finally {
    going = false;
    await traffic;
    await mc.close();
  }
}

/**
 * Watches the event loop with a timer of the shortest period; `stop()` gives every gap between its
 * ticks: when it started and how long it was, ms.
 */
function watchStalls(): { stop(): { start: number; length: number }[] } {
  const gaps: { start: number; length: number }[] = [];
  let last = performance.now();
  const watch = setInterval(() => {
    const now = performance.now();
    gaps.push({ start: last, length: now - last });
    last = now;
  }, 1);
  return {
    stop: () => {
      clearInterval(watch);
      gaps.push({ start: last, length: performance.now() - last });
      return gaps;
    },
  };
}

/**
 * How long this thread has waited for a CPU while runnable, ms (Linux's schedstat; NaN elsewhere):
 * on a machine of few cores, V8's compiler and collector threads take turns with the event loop's,
 * most of all while code runs for the first time.
 */
function cpuWaited(): number {
  try {
    return Number(readFileSync("/proc/thread-self/schedstat", "latin1").split(" ")[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Grows this process's descriptor table to hold `count` descriptors (see the module's doc). */
function growDescriptorTable(count: number): void {
  const opened = Array.from({ length: count }, () => openSync("/dev/null", "r"));
  for (const fd of opened) closeSync(fd);
}

/** The `i`-th refusing address: a loopback address where nothing listens (port 1). */
function refusingHost(i: number): string {
  return `127.0.${30 + Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** `count` plain connects to refusing addresses, one at a time: those that took over 2 ms. */
async function plainConnects(count: number): Promise<void> {
  const sockets = [];
  const slow: string[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const socket = connect({ host: refusingHost(i), port: 1 });
    socket.on("error", () => undefined);
    sockets.push(socket);
    await new Promise((r) => process.nextTick(r)); // Node makes the socket and connects in a next tick
    const took = performance.now() - t0;
    if (took > 2) slow.push(`connect #${i + 1}: ${took.toFixed(1)} ms`);
  }
  for (const socket of sockets) socket.destroy();
  console.log(`${count} plain connects, one at a time; over 2 ms: ${slow.join(", ") || "none"}`);
}
