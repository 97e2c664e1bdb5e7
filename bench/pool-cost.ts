/**
 * `npm run bench:pool`: what the cluster and pool layers cost on the hot path. 256 concurrent gets of
 * 100-byte values against one memcached (-t 1), alternating rounds of:
 *   - a bare Connection (no cluster: attempt → connection → parser → handler),
 *   - the Client (cluster → server → pool → connection), pool { min: 1, max: 2 } (the default),
 *   - the Client with pool { min: 2, max: 2 } (requests spread over two connections).
 * Prints the median gets/s of each and the ratios.
 */
import { handlersFor } from "../src/client/replies.ts";
import { Call, type CallAttempt } from "../src/cluster/call.ts";
import { Attempt, type AttemptSink } from "../src/connection/attempt.ts";
import { Connection } from "../src/connection/connection.ts";
import { Client } from "../src/index.ts";
import { Frame, Op } from "../src/protocol/frame.ts";
import { ValueCodec } from "../src/serialization/codec.ts";
import { startMemcached } from "../test/support/memcached.ts";
import { BENCH_KEYS, concurrent, loadBenchKeys, median } from "./harness.ts";

const ROUNDS = 5;
const RUN_MS = 1000;
const CONCURRENCY = 256;
const keys = BENCH_KEYS;

async function main(): Promise<void> {
  const server = await startMemcached({ threads: 1 });
  const loader = new Client({ servers: [server.label] });
  await loadBenchKeys(loader);
  await loader.close();

  const conn = new Connection({
    host: server.host,
    port: server.port,
    connectTimeout: 1000,
    socketTimeout: 5000,
    maxInFlight: 1024,
    maxQueue: 10_000,
    maxValueSize: 1 << 20,
    keepAlive: true,
  });
  const get = handlersFor("meta", { codec: new ValueCodec(), releaseWin: () => {} }).get;
  const direct: AttemptSink<Call, undefined> = {
    succeeded: (a, value) => a.call.succeed(value),
    failed: (a, error) => a.call.fail(error),
  };
  const bare = (k: string) => {
    const frame = new Frame(Op.Get);
    frame.key = k;
    const call = new Call(frame, get, 5000);
    conn.send(new Attempt(frame, get, direct, call, undefined, 5000) as CallAttempt as Attempt);
    return call.promise;
  };
  const one = new Client({ servers: [server.label], timeout: 5000 });
  const two = new Client({ servers: [server.label], timeout: 5000, pool: { min: 2, max: 2 } });
  const contenders: [string, (k: string) => Promise<unknown>][] = [
    ["bare connection", bare],
    ["client, pool 1–2", (k) => one.get(k)],
    ["client, pool 2–2", (k) => two.get(k)],
  ];
  const results = new Map<string, number[]>();
  for (const [, get] of contenders) await concurrent((i) => get(keys[i % keys.length]!), CONCURRENCY, 300); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const [name, get] of order)
      results.set(name, [
        ...(results.get(name) ?? []),
        await concurrent((i) => get(keys[i % keys.length]!), CONCURRENCY, RUN_MS),
      ]);
  }
  await conn.close();
  await one.close();
  await two.close();
  await server.kill();
  const base = median(results.get("bare connection")!);
  console.log(
    `256 concurrent gets (100 B), memcached -t 1, median of ${ROUNDS} alternating rounds of ${RUN_MS} ms`,
  );
  for (const [name] of contenders) {
    const m = median(results.get(name)!);
    console.log(
      `${name.padEnd(20)} ${Math.round(m).toLocaleString("en-US").padStart(10)} gets/s   ${((m / base) * 100).toFixed(1)} %`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
