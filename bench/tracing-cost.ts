/**
 * `npm run bench:tracing`: what tracing costs. 256 concurrent gets of 100-byte values against one
 * memcached (-t 1), alternating rounds with no subscriber on `memcachio:command`, and with a
 * subscriber on all five events (doing nothing). Prints median gets/s and the ratio.
 */
import diagnostics from "node:diagnostics_channel";
import { CHANNELS, Client } from "../src/index.ts";
import { startMemcached } from "../test/support/memcached.ts";
import { BENCH_KEYS, concurrent, loadBenchKeys, median } from "./harness.ts";

const ROUNDS = 5;
const RUN_MS = 1000;
const CONCURRENCY = 256;
const keys = BENCH_KEYS;

async function main(): Promise<void> {
  const server = await startMemcached({ threads: 1 });
  const mc = new Client({ servers: [server.label], timeout: 5000 });
  await loadBenchKeys(mc);
  const channel = diagnostics.tracingChannel(CHANNELS.command);
  const noop = () => {};
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
  const results: Record<string, number[]> = { "no subscriber": [], "subscriber on all events": [] };
  await concurrent((i) => mc.get(keys[i % keys.length]!), CONCURRENCY, 300);
  for (let r = 0; r < ROUNDS; r++) {
    const order =
      r % 2 === 0
        ? ["no subscriber", "subscriber on all events"]
        : ["subscriber on all events", "no subscriber"];
    for (const name of order) {
      if (name !== "no subscriber") channel.subscribe(handlers);
      results[name]!.push(await concurrent((i) => mc.get(keys[i % keys.length]!), CONCURRENCY, RUN_MS));
      if (name !== "no subscriber") channel.unsubscribe(handlers);
    }
  }
  await mc.close();
  await server.kill();
  const base = median(results["no subscriber"]!);
  console.log(
    `256 concurrent gets (100 B), memcached -t 1, median of ${ROUNDS} alternating rounds of ${RUN_MS} ms`,
  );
  for (const [name, xs] of Object.entries(results)) {
    const m = median(xs);
    console.log(
      `${name.padEnd(26)} ${Math.round(m).toLocaleString("en-US").padStart(10)} gets/s   ${((m / base) * 100).toFixed(1)} %`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
