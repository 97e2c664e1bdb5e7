/**
 * `npm run bench:fleet`: a burst of calls over a large fleet (#31's fleet-scale case). 1,000 servers,
 * of which 300 refuse connections (loopback addresses where nothing listens) and 700 are one memcached
 * listening on 700 loopback addresses; a new client sends 2,000 concurrent gets with a 250 ms deadline,
 * so a connection is opened to each server at once. Prints, per round, the time the client took to be
 * made, the longest stall of the event loop during the burst (the longest gap between the ticks of a
 * timer of the shortest period; the issuing loop's own time is part of it), the time the issuing loop
 * took, and the slowest call.
 *
 * Options: `--rounds R` (default 5), `--servers N` (1,000), `--refusing N` (300), `--gets N` (2,000),
 * `--after MS` (0: the burst starts in the turn the client is made; a service makes its client at start
 * and its burst comes later, which `--after 100` shows), `--built` (the package as published: built
 * first, then loaded from `dist/`; by default the sources run through tsx, whose added function names
 * make code that runs once or twice, as in a first burst, slower). Then three changes of the list
 * that replace every server while gets go on: the longest stall and the time until each settled.
 */
import { execFileSync } from "node:child_process";
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
  },
});
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
  ...Array.from({ length: refusingCount }, (_, i) => `127.0.${30 + Math.floor(i / 250)}.${(i % 250) + 1}:1`),
];
const keys = Array.from({ length: Number(values.gets) }, (_, i) => `burst:${i}`);
try {
  console.log(
    `${servers.length} servers (${refusingCount} refusing), ${keys.length} concurrent gets, ${DEADLINE} ms deadline, ${values.built ? "built package" : "sources through tsx"}`,
  );
  console.log("round  client made  longest stall  issuing  slowest call  late calls");
  for (let round = 0; round < Number(values.rounds); round++) {
    const made = performance.now();
    const mc = new Client({ servers, timeout: DEADLINE, failOpen: true });
    const making = performance.now() - made;
    if (Number(values.after) > 0) await new Promise((r) => setTimeout(r, Number(values.after)));
    const stalls = watchStalls();
    const t0 = performance.now();
    const took: number[] = [];
    const calls = keys.map(async (k) => {
      const start = performance.now();
      await mc.get(k);
      took.push(performance.now() - start);
    });
    const issuing = performance.now() - t0;
    await Promise.all(calls);
    const longest = stalls.stop();
    const slowest = Math.max(...took);
    const late = took.filter((t) => t > DEADLINE + 20).length;
    console.log(
      `${String(round).padStart(5)}  ${making.toFixed(0).padStart(8)} ms  ${longest.toFixed(1).padStart(10)} ms  ${issuing.toFixed(1).padStart(5)} ms  ${slowest.toFixed(0).padStart(9)} ms  ${String(late).padStart(10)}`,
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
      const longest = stalls.stop();
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

/** Watches the event loop with a timer of the shortest period; `stop()` gives the longest gap between its ticks, ms. */
function watchStalls(): { stop(): number } {
  let longest = 0;
  let last = performance.now();
  const watch = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    stop: () => {
      clearInterval(watch);
      return longest;
    },
  };
}
