/**
 * The fleet is never lost to a failing source (#32): one address family of a name failing, a lost
 * first DNS answer, a list of names that do not resolve, and a discovery endpoint that sends a node
 * with no IP in its IP field or a configuration older than the one applied. A fake DNS server and a
 * fake configuration endpoint speak the real wire formats on loopback; the servers are real memcached.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, type ClientOptions, NoServersError } from "../../src/index.ts";
import { type DiscoveryEndpoint, startDiscoveryEndpoint } from "../support/discovery-endpoint.ts";
import { type DnsServer, startDnsServer } from "../support/dns-server.ts";
import { freePort, type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";

let dns: DnsServer;
let port = 0;
/** Two memcached on IPv4 loopback addresses and one on ::1, all on one port. */
let fleet: MemcachedServer[] = [];
const clients: Client[] = [];

function client(o: Partial<ClientOptions>): Client {
  const c = new Client({
    timeout: 1000,
    dns: { servers: [dns.address], refreshInterval: 100, timeout: 300 },
    ...o,
  });
  clients.push(c);
  return c;
}

function labels(c: Client): string[] {
  return c
    .health()
    .servers.map((s) => s.label)
    .sort();
}

before(async () => {
  dns = await startDnsServer();
  port = await freePort();
  fleet = await Promise.all(["127.0.0.3", "127.0.0.4", "::1"].map((host) => startMemcached({ host, port })));
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(fleet.map((s) => s.kill()));
  await dns.close();
});

describe("DNS, one family at a time", () => {
  it("an A query failing for a while drops no server and flushes none: every key is still there", async () => {
    dns.set("pair.test", { A: ["127.0.0.3", "127.0.0.4"], AAAA: ["::1"] });
    const c = client({ servers: `dns+pair.test:${port}` });
    await waitFor(() => labels(c).length === 3, 3000);
    const removed: string[] = [];
    const flushed: string[] = [];
    const reported: string[] = [];
    c.on("topologyChange", (e) => removed.push(...e.removed));
    c.on("serverFlushed", (e) => flushed.push(e.server));
    c.on("topologyError", (e) => reported.push(e.error.message));
    const keys = Array.from({ length: 200 }, (_, i) => `family:${i}`);
    assert.ok((await c.setMany(keys.map((k) => [k, k] as const))).every(Boolean));
    dns.serverFailure("A", true);
    try {
      await sleep(1000);
      assert.equal(labels(c).length, 3, "the A addresses stay while their query fails");
    } finally {
      dns.serverFailure("A", false);
    }
    await sleep(400);
    assert.deepEqual(removed, [], "no server left the list");
    assert.deepEqual(flushed, [], "no server was flushed");
    assert.ok(
      reported.some((m) => /A query failed .*keeping its 2 last known A addresses/.test(m)),
      reported.join("\n"),
    );
    const got = await c.getMany(keys);
    assert.equal(got.size, keys.length, `keys lost: ${keys.length - got.size}`);
  });

  for (const how of ["truncated", "malformed"] as const) {
    it(`a ${how} A answer is a failure, not "no records": every server stays, reported`, async () => {
      const name = `${how}.test`;
      dns.set(name, { A: ["127.0.0.3", "127.0.0.4"], AAAA: ["::1"] });
      const c = client({ servers: `dns+${name}:${port}` });
      await waitFor(() => labels(c).length === 3, 3000);
      const removed: string[] = [];
      const reported: string[] = [];
      c.on("topologyChange", (e) => removed.push(...e.removed));
      c.on("topologyError", (e) => reported.push(e.error.message));
      dns.misbehave("A", how);
      try {
        await waitFor(() => reported.length >= 2, 3000); // two refreshes at least
        assert.equal(labels(c).length, 3);
      } finally {
        dns.misbehave("A", null);
      }
      await sleep(300);
      assert.deepEqual(removed, []);
      assert.ok(
        reported.every((m) => /A query failed/.test(m)),
        reported.join("\n"),
      );
    });
  }

  it("an answer that says a family has no record removes that family's servers, and only those", async () => {
    dns.set("shrink.test", { A: ["127.0.0.3", "127.0.0.4"], AAAA: ["::1"] });
    const c = client({ servers: `dns+shrink.test:${port}` });
    await waitFor(() => labels(c).length === 3, 3000);
    dns.set("shrink.test", { AAAA: ["::1"] });
    await waitFor(() => labels(c).length === 1, 3000);
    assert.deepEqual(labels(c), [`[::1]:${port}`]);
  });
});

describe("the first DNS answer", () => {
  it("lost for a while: a call made at once with a 1,500 ms deadline succeeds once DNS answers", async () => {
    const seed = new Client({ servers: [fleet[0]!.label] });
    clients.push(seed);
    await seed.set("first-answer", "here");
    dns.set("late.test", { A: ["127.0.0.3"] });
    dns.silence(true);
    // Unsilenced by a timer, not after the call: the call is made first and waits meanwhile.
    const answer = setTimeout(() => dns.silence(false), 700);
    try {
      const c = client({ servers: `dns+late.test:${port}`, dns: { servers: [dns.address], timeout: 300 } });
      const t0 = performance.now();
      assert.equal(await c.get("first-answer", { timeout: 1500 }), "here");
      assert.ok(performance.now() - t0 >= 600, "it did wait for the answer");
    } finally {
      clearTimeout(answer);
      dns.silence(false);
    }
  });

  it("never answered: a call fails at its deadline with a NoServersError that says the name has not resolved", async () => {
    dns.silence(true);
    try {
      const c = client({ servers: `dns+silent.test:${port}`, dns: { servers: [dns.address], timeout: 100 } });
      await assert.rejects(c.get("k", { timeout: 400 }), (err: Error) => {
        assert.ok(err instanceof NoServersError, `${err.name}: ${err.message}`);
        assert.match(err.message, /first DNS or discovery answer.*dns\+silent\.test/);
        return true;
      });
    } finally {
      dns.silence(false);
    }
  });
});

describe("setServers", () => {
  it('setServers(["nonsense"]) rejects with NoServersError and the old list keeps serving', async () => {
    const c = client({ servers: [fleet[0]!.label] });
    await c.set("kept", "yes");
    await assert.rejects(c.setServers(["nonsense"]), (err: Error) => {
      assert.ok(err instanceof NoServersError, `${err.name}: ${err.message}`);
      assert.match(err.message, /nonsense does not resolve.*the old list stays/);
      return true;
    });
    assert.deepEqual(labels(c), [fleet[0]!.label]);
    assert.equal(await c.get("kept"), "yes");
  });

  it("a list with one name that resolves and one that does not is taken", async () => {
    dns.set("good.test", { A: ["127.0.0.3"] });
    const c = client({ servers: [fleet[1]!.label] });
    await c.setServers([`good.test:${port}`, `nonsense:${port}`]);
    assert.deepEqual(labels(c), [`good.test:${port}`, `nonsense:${port}`]);
  });
});

describe("discovery", () => {
  let endpoint: DiscoveryEndpoint;
  before(async () => {
    endpoint = await startDiscoveryEndpoint([{ host: "node-a.test", ip: "127.0.0.3", port }]);
  });
  after(async () => {
    await endpoint.close();
  });

  async function discovered(): Promise<{ c: Client; errors: string[] }> {
    const c = client({ discovery: { endpoint: endpoint.address, interval: 100 } });
    const errors: string[] = [];
    c.on("topologyError", (e) => errors.push(e.error.message));
    await waitFor(() => labels(c).length === 1, 3000);
    return { c, errors };
  }

  it("a node whose IP field is not an IP makes the reply malformed: reported, the list kept", async () => {
    endpoint.setNodes([{ host: "node-a.test", ip: "127.0.0.3", port }]);
    const { c, errors } = await discovered();
    endpoint.setNodes([
      { host: "node-a.test", ip: "127.0.0.3", port },
      { host: "bogus", ip: "not-an-ip", port },
    ]);
    await waitFor(() => errors.length > 0, 3000);
    assert.match(errors[0]!, /bad node "bogus\|not-an-ip\|\d+": its IP field is not an IPv4 or IPv6 address/);
    assert.deepEqual(labels(c), [`127.0.0.3:${port}`]);
  });

  it("a configuration version lower than the one applied is ignored and reported", async () => {
    endpoint.setNodes([{ host: "node-a.test", ip: "127.0.0.3", port }], 10);
    const { c, errors } = await discovered();
    endpoint.setNodes([{ host: "node-b.test", ip: "127.0.0.4", port }], 9);
    await waitFor(() => errors.length > 0, 3000);
    assert.match(errors[0]!, /configuration version 9 is older than the one applied \(10\): ignored/);
    assert.deepEqual(labels(c), [`127.0.0.3:${port}`]);
  });
});
