/**
 * Real memcached servers for one suite: started before its tests, killed after them.
 */
import { after, afterEach, before } from "node:test";
import { HashRing } from "../../src/index.ts";
import { type MemcachedOptions, type MemcachedServer, restoreAll, startMemcached } from "./memcached.ts";

/** The keys of `keys` whose owner differs between the rings of `from` and `to`. */
export function movedKeys(from: string[], to: string[], keys: string[]): string[] {
  const a = new HashRing(from);
  const b = new HashRing(to);
  return keys.filter((k) => a.serverFor(k) !== b.serverFor(k));
}

/**
 * `n` servers, started in the suite's `before`; the array is filled then and emptied after. After
 * each test, a server it killed or paused is brought back (a failed test cannot fail the next).
 */
export function suiteServers(n: number, options: MemcachedOptions = {}): MemcachedServer[] {
  const servers: MemcachedServer[] = [];
  before(async () => {
    servers.push(...(await Promise.all(Array.from({ length: n }, () => startMemcached(options)))));
  });
  afterEach(() => restoreAll(servers));
  after(async () => {
    await Promise.all(servers.splice(0).map((s) => s.kill()));
  });
  return servers;
}
