/**
 * `npm run bench:herd`: 200 concurrent fetches of a cold key with a 100 ms loader, spread over 4
 * clients (standing for 4 processes), for `fetch` versus a naive get-then-set. Prints loader calls and
 * latency (p50/p99/max) for each, over several rounds with fresh keys.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "../src/index.ts";
import { startMemcached } from "../test/support/memcached.ts";

const CALLERS = 200;
const CLIENTS = 4;
const LOADER_MS = 100;
const ROUNDS = 5;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
}

async function main(): Promise<void> {
  const server = await startMemcached({ threads: 1 });
  const clients = Array.from(
    { length: CLIENTS },
    () => new Client({ servers: [server.label], timeout: 2000 }),
  );
  const results: Record<string, { calls: number[]; lat: number[] }> = {
    fetch: { calls: [], lat: [] },
    "get-then-set": { calls: [], lat: [] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of Object.keys(results)) {
      const key = `herd:${mode}:${round}:${Date.now()}`;
      let calls = 0;
      const loader = async () => {
        calls++;
        await sleep(LOADER_MS);
        return { data: "x".repeat(100) };
      };
      const lat: number[] = [];
      await Promise.all(
        Array.from({ length: CALLERS }, async (_, i) => {
          const mc = clients[i % CLIENTS]!;
          const t0 = performance.now();
          if (mode === "fetch") await mc.fetch(key, loader, { ttl: 60, lockTtl: 5 });
          else {
            let v = await mc.get(key);
            if (v === undefined) {
              v = await loader();
              await mc.set(key, v, { ttl: 60 });
            }
          }
          lat.push(performance.now() - t0);
        }),
      );
      results[mode]!.calls.push(calls);
      results[mode]!.lat.push(...lat);
    }
  }
  for (const c of clients) await c.close();
  await server.kill();
  console.log(
    `${CALLERS} concurrent callers on a cold key, ${CLIENTS} clients, ${LOADER_MS} ms loader, ${ROUNDS} rounds`,
  );
  console.log("mode            loader calls/round   p50 ms   p99 ms   max ms");
  for (const [mode, r] of Object.entries(results)) {
    const calls = `${Math.min(...r.calls)}–${Math.max(...r.calls)}`;
    console.log(
      `${mode.padEnd(16)}${calls.padEnd(21)}${pct(r.lat, 0.5).toFixed(1).padEnd(9)}${pct(r.lat, 0.99).toFixed(1).padEnd(9)}${Math.max(...r.lat).toFixed(1)}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
