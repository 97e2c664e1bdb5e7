/**
 * `npm run bench:calls`: what checking a call's options and `captureCallSite` cost. 256 concurrent
 * sets of 100-byte values against one memcached (-t 1), in alternating rounds:
 * - `set(k, v)`: no options, nothing to check;
 * - `set(k, v, { ttl })`: the options check walks the object's names;
 * - `set(k, v)` on a client with `captureCallSite: true`: a stack recorded per call.
 * With `--base REF`, the first two also run on memcachio's `src/` at commit REF (before the checks),
 * extracted to `bench/.base/` as `npm run bench -- --base` does. Prints median sets/s and ratios.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Client } from "../src/index.ts";
import { startMemcached } from "../test/support/memcached.ts";
import { concurrent, median } from "./harness.ts";

const { values: args } = parseArgs({
  options: { base: { type: "string" }, rounds: { type: "string", default: "6" } },
});
const ROUNDS = Number(args.rounds);
const RUN_MS = 1000;
const CONCURRENCY = 256;
const VALUE = "v".repeat(100);
const TTL = { ttl: 600 };

type Set = (i: number) => Promise<unknown>;

async function baseClient(ref: string): Promise<typeof Client> {
  const dir = fileURLToPath(new URL("./.base/", import.meta.url));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync("git", ["archive", ref, "src"]);
  execFileSync("tar", ["-x", "-C", dir], { input: tar });
  const mod = (await import(pathToFileURL(`${dir}src/index.ts`).href)) as { Client: typeof Client };
  return mod.Client;
}

async function main(): Promise<void> {
  const server = await startMemcached({ threads: 1 });
  const servers = [server.label];
  const plain = new Client({ servers, timeout: 5000 });
  const recorded = new Client({ servers, timeout: 5000, captureCallSite: true });
  const rows: [string, Set][] = [
    ["set(k, v)", (i) => plain.set(`k${i % 1000}`, VALUE)],
    ["set(k, v, { ttl })", (i) => plain.set(`k${i % 1000}`, VALUE, TTL)],
    ["set(k, v), captureCallSite", (i) => recorded.set(`k${i % 1000}`, VALUE)],
  ];
  const clients: { close(): Promise<void> }[] = [plain, recorded];
  if (args.base !== undefined) {
    const Base = await baseClient(args.base);
    const before = new Base({ servers, timeout: 5000 });
    clients.push(before);
    rows.push([`set(k, v) @${args.base}`, (i) => before.set(`k${i % 1000}`, VALUE)]);
    rows.push([`set(k, v, { ttl }) @${args.base}`, (i) => before.set(`k${i % 1000}`, VALUE, TTL)]);
  }
  const results = new Map<string, number[]>(rows.map(([name]) => [name, []]));
  for (const [, set] of rows) await concurrent(set, CONCURRENCY, 300);
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? rows : [...rows].reverse();
    for (const [name, set] of order) results.get(name)!.push(await concurrent(set, CONCURRENCY, RUN_MS));
  }
  for (const c of clients) await c.close();
  await server.kill();
  const first = median(results.get("set(k, v)")!);
  console.log(
    `${CONCURRENCY} concurrent sets (100 B), memcached -t 1, median of ${ROUNDS} alternating rounds`,
  );
  for (const [name, xs] of results) {
    const m = median(xs);
    const spread = `${Math.round(Math.min(...xs) / 1000)}k–${Math.round(Math.max(...xs) / 1000)}k`;
    console.log(
      `${name.padEnd(34)} ${Math.round(m).toLocaleString("en-US").padStart(10)} sets/s  ${((m / first) * 100).toFixed(1).padStart(6)} %  (${spread})`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
