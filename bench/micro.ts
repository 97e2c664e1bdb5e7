/**
 * Micro benches (tinybench) of the hot paths that need no server: reply parser, request encoder,
 * key encoding, value decoding. `npm run bench:micro`, and the tail of `npm run bench`.
 */
import { Bench } from "tinybench";
import { LocalCache } from "../src/client/local-cache.ts";
import { HashRing } from "../src/cluster/ketama.ts";
import { KeyEncoder } from "../src/keys.ts";
import { encodeMeta } from "../src/protocol/meta/encoder.ts";
import { MetaParser } from "../src/protocol/meta/parser.ts";
import { Frame, Op } from "../src/protocol/frame.ts";
import { Writer } from "../src/protocol/writer.ts";
import { ValueCodec } from "../src/serialization/codec.ts";

export async function runMicro(): Promise<void> {
  const value = "x".repeat(100);
  const chunk = Buffer.from(
    Array.from({ length: 100 }, (_, i) => `VA 100 f0 O${i}\r\n${value}\r\n`).join(""),
  );
  let replies = 0;
  const parser = new MetaParser(() => {
    replies++;
  }, 1 << 20);
  const w = new Writer();
  const keys = new KeyEncoder();
  const codec = new ValueCodec();
  const valueBuf = Buffer.from(value);
  const ring = new HashRing(Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}:11211`));
  const ringKeys = Array.from({ length: 100 }, (_, i) => `user:${i * 7919}`);
  // A full L1 under churn: half the keys asked are not in it, so half the lookups store and evict.
  const l1 = new LocalCache({ max: 10_000, ttl: 60_000, staleIfError: 60_000 });
  const l1Keys = Array.from({ length: 20_000 }, (_, i) => `key:${i}`);
  for (const k of l1Keys) l1.set(k, k);
  let l1At = 0;
  // Rings of 10, 100 and 1,000 weighted servers: a change of the list builds one; a server going
  // down or up makes the live ring of the rest (`without`, one pass, no hashing or sorting).
  const fleets = [10, 100, 1000].map((n) =>
    Array.from({ length: n }, (_, i) => ({
      host: `10.0.${i >> 8}.${i & 255}`,
      port: 11211,
      weight: 1 + (i % 3),
    })),
  );
  const fleetRings = fleets.map((f) => HashRing.of(f));
  let down = 0;

  const bench = new Bench({ time: 400 });
  bench
    .add("parse VA replies (100 B values), one chunk", () => {
      parser.feed(chunk);
    })
    .add("encode mg requests", () => {
      for (let i = 0; i < 100; i++) {
        const r = new Frame(Op.Get);
        r.key = "bench:get:00042";
        encodeMeta(w, r, i);
      }
      w.finish();
    })
    .add("encode ms requests (1 KiB values)", () => {
      const v = Buffer.alloc(1024);
      for (let i = 0; i < 100; i++) {
        const r = new Frame(Op.Store);
        r.key = "bench:set:00042";
        r.value = v;
        r.valueLength = 1024;
        encodeMeta(w, r, i);
      }
      w.finish();
    })
    .add("key encode (ASCII)", () => {
      for (let i = 0; i < 100; i++) keys.encode("bench:get:00042");
    })
    .add("ketama serverFor (10 servers)", () => {
      for (let i = 0; i < 100; i++) ring.serverFor(ringKeys[i]!);
    })
    .add("decode string values", () => {
      for (let i = 0; i < 100; i++) codec.decode(valueBuf, 0, 100, 0);
    })
    .add("local cache lookup, full, half misses", () => {
      for (let i = 0; i < 100; i++) {
        const k = l1Keys[(l1At = (l1At + 7919) % l1Keys.length)]!;
        if (l1.get(k) === undefined) l1.set(k, k);
      }
    });
  // Ring changes: one change per call (the table's items are changes).
  const rings = new Bench({ time: 400 });
  fleets.forEach((fleet, i) => {
    rings
      .add(`ring change: list of ${fleet.length} servers (build)`, () => {
        HashRing.of(fleet);
      })
      .add(`ring change: 1 of ${fleet.length} servers down`, () => {
        const gone = (down = (down + 1) % fleet.length);
        fleetRings[i]!.without((j) => j === gone);
      });
  });
  await bench.run();
  await rings.run();
  // Each task handles 100 items (a ring change task: one); the table shows per-item figures.
  const perItem = (t: { name: string }) => (t.name.startsWith("ring change") ? 1 : 100);
  const rows = [...bench.tasks, ...rings.tasks].map((t) => {
    const perSec = (t.result as { throughput?: { mean: number } } | undefined)?.throughput?.mean ?? 0;
    const items = perSec * perItem(t);
    return [t.name, Math.round(items).toLocaleString("en-US"), items > 0 ? (1e9 / items).toFixed(0) : "?"];
  });
  const width = Math.max(4, ...rows.map((r) => r[0]!.length));
  console.log("\nmicro benches (tinybench, no server): items per second and nanoseconds per item");
  console.log(`${"task".padEnd(width)}  ${"items/s".padStart(12)}  ${"ns/item".padStart(10)}`);
  for (const [name, perSec, ns] of rows) {
    console.log(`${name!.padEnd(width)}  ${perSec!.padStart(12)}  ${ns!.padStart(10)}`);
  }
  if (replies === 0) throw new Error("parser produced nothing");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runMicro();
}
