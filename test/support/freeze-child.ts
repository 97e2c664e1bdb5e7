/**
 * The client process of the freeze test (`test/integration/freeze.test.ts`), frozen and thawed by
 * its parent with SIGSTOP and SIGCONT. It reads commands on stdin, one per line:
 * - `go`: right away, 20 sets, 20 incrs and 20 gets at once (calls made in an I/O callback);
 * - `arm <ms>`: the same from a timer due in `<ms>` (a timer that comes due during the freeze);
 * - `exit`: closes the client and exits.
 * Each round prints one JSON line: calls failed (with their messages), ms to the first and the last answer.
 */
import { createInterface } from "node:readline";
import { Client } from "../../src/index.ts";

const [label] = process.argv.slice(2);
const client = new Client({ servers: [label!], timeout: 2000 });
let round = 0;

async function burst(): Promise<void> {
  round++;
  const start = performance.now();
  let first = -1;
  const time = <T>(p: Promise<T>): Promise<T> =>
    p.finally(() => {
      if (first < 0) first = performance.now() - start;
    });
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 20; i++) calls.push(time(client.set(`freeze:${round}:${i}`, `v${i}`)));
  for (let i = 0; i < 20; i++) calls.push(time(client.incr(`freeze:n:${i}`, 1, { initial: 0 })));
  for (let i = 0; i < 20; i++) calls.push(time(client.get(`freeze:${round - 1}:${i}`)));
  const settled = await Promise.allSettled(calls);
  const errors = settled.flatMap((s) => (s.status === "rejected" ? [String(s.reason)] : []));
  const report = { round, calls: settled.length, failed: errors.length, errors: errors.slice(0, 3) };
  const last = performance.now() - start;
  console.log(JSON.stringify({ ...report, firstMs: Math.round(first), lastMs: Math.round(last) }));
}

// Connections open and used before the first freeze.
await client.set("freeze:warm", "1");
await Promise.all([client.get("freeze:warm"), client.incr("freeze:n:0", 1, { initial: 0 })]);
console.log("ready");

for await (const line of createInterface({ input: process.stdin })) {
  const [command, arg] = line.trim().split(" ");
  if (command === "go") await burst();
  else if (command === "arm") {
    setTimeout(() => void burst(), Number(arg));
    console.log("armed");
  } else if (command === "exit") break;
}
await client.close();
