/**
 * Real memcached servers for one suite: started before its tests, killed after them.
 */
import { after, before } from "node:test";
import { type MemcachedOptions, type MemcachedServer, startMemcached } from "./memcached.ts";

/** `n` servers, started in the suite's `before`; the array is filled then and emptied after. */
export function suiteServers(n: number, options: MemcachedOptions = {}): MemcachedServer[] {
  const servers: MemcachedServer[] = [];
  before(async () => {
    servers.push(...(await Promise.all(Array.from({ length: n }, () => startMemcached(options)))));
  });
  after(async () => {
    await Promise.all(servers.splice(0).map((s) => s.kill()));
  });
  return servers;
}
