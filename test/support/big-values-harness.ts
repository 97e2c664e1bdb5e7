/**
 * The servers and clients of the `bigValues` tests: three memcached with their default 1 MiB item
 * size (room for 40 MiB values with two copies), clients closed after each test.
 */
import { after, afterEach, before } from "node:test";
import { Client, type ClientOptions } from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "./memcached.ts";
import { current } from "./protocols.ts";
import { RawItems } from "./raw-items.ts";

export const MiB = 1024 * 1024;
/** memcachio's default threshold: `maxValueSize`, 1 MiB − 512. */
export const THRESHOLD = MiB - 512;

/** Starts the servers for the calling test file; what it returns is usable inside its tests. */
export function bigValueServers() {
  let servers: MemcachedServer[] = [];
  let labels: string[] = [];
  const clients: Client[] = [];
  const raws: RawItems[] = [];
  let n = 0;
  before(async () => {
    // No eviction between a write and its read.
    servers = await Promise.all([0, 1, 2].map(() => startMemcached({ memory: 160 })));
    labels = servers.map((s) => s.label);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const r of raws.splice(0)) r.close();
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.kill()));
  });
  return {
    servers: () => servers,
    labels: () => labels,
    /** A client of the first server (by default) with `bigValues` on, closed after the test. */
    client(o: Partial<ClientOptions> = {}): Client {
      const c = new Client({
        protocol: current.protocol,
        servers: [labels[0]!],
        timeout: 10_000,
        bigValues: {},
        ...o,
      });
      clients.push(c);
      return c;
    },
    /** Items of a server (the first by default) on a bare socket. */
    raw(label = labels[0]!): RawItems {
      const r = new RawItems(label);
      raws.push(r);
      return r;
    },
    async flushAll(): Promise<void> {
      const c = new Client({ servers: labels, timeout: 5000 });
      await c.flush();
      await c.close();
    },
    /** A key of its own for each use. */
    key(what: string): string {
      return `big:${what}:${process.pid}:${n++}`;
    },
  };
}
