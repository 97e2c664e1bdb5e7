/**
 * The setting of the cluster tests: three real memcached servers for the file, clients made for a
 * test closed after it, servers a test killed or paused brought back after it (one failed test cannot
 * fail the next), and no unhandled rejection in the whole file.
 */
import assert from "node:assert/strict";
import { after, afterEach, before } from "node:test";
import { Client, type ClientOptions } from "../../src/index.ts";
import { type MemcachedServer, restoreAll, startMemcached } from "./memcached.ts";
import { current } from "./protocols.ts";

export interface ClusterSuite {
  /** The three servers (filled in `before`). */
  readonly servers: MemcachedServer[];
  /** Their labels, in order. */
  readonly labels: string[];
  /** A client of the three (timeout 500 ms unless `o` says otherwise), closed after the test. */
  client(o?: Partial<ClientOptions>): Client;
  /** A client for one server only: to look at what is really stored where. */
  direct(label: string): Client;
}

/** Registers the file's hooks; call at the top of a test file. */
export function clusterSuite(): ClusterSuite {
  const servers: MemcachedServer[] = [];
  const labels: string[] = [];
  const clients: Client[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  const made = (c: Client) => {
    clients.push(c);
    return c;
  };
  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    servers.push(...(await Promise.all([startMemcached(), startMemcached(), startMemcached()])));
    labels.push(...servers.map((s) => s.label));
  });
  afterEach(async () => {
    await restoreAll(servers);
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    process.off("unhandledRejection", onUnhandled);
    assert.deepEqual(unhandled, [], "no unhandled rejection in this file");
  });
  return {
    servers,
    labels,
    client: (o = {}) => made(new Client({ protocol: current.protocol, servers: labels, timeout: 500, ...o })),
    direct: (label) => made(new Client({ protocol: current.protocol, servers: [label], timeout: 1000 })),
  };
}
