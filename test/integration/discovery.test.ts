/**
 * Server lists from DNS (`dns+`, `dnssrv+`, plain names re-resolved) and from an ElastiCache-style
 * configuration endpoint, against real memcached. The DNS server and the endpoint are the tests'
 * own (test/support), speaking the real wire formats on loopback.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { after, afterEach, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  CHANNELS,
  Client,
  type ClientEvents,
  type ClientOptions,
  InvalidArgumentError,
} from "../../src/index.ts";
import { collectMetrics } from "../../src/prometheus.ts";
import diagnostics from "node:diagnostics_channel";
import { type DiscoveryEndpoint, startDiscoveryEndpoint } from "../support/discovery-endpoint.ts";
import { type DnsServer, startDnsServer } from "../support/dns-server.ts";
import { freePort, type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";
import { startTlsMemcached, testPki } from "../support/secure.ts";

const clients: Client[] = [];
let dns: DnsServer;
/** Three memcached on one port, at 127.0.0.1, .2 and .3 (one `dns+name:port` entry names them all). */
let trio: MemcachedServer[] = [];
let port = 0;

function client(o: Partial<ClientOptions>): Client {
  const c = new Client({ timeout: 1000, dns: { servers: [dns.address], refreshInterval: 100 }, ...o });
  clients.push(c);
  return c;
}

function labels(c: Client): string[] {
  return c
    .health()
    .servers.map((s) => s.label)
    .sort();
}

function nextEvent<T>(c: Client, name: keyof ClientEvents, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${ms} ms`)), ms);
    c.once(name, (e: unknown) => {
      clearTimeout(timer);
      resolve(e as T);
    });
  });
}

before(async () => {
  dns = await startDnsServer();
  port = await freePort();
  trio = await Promise.all(
    ["127.0.0.1", "127.0.0.2", "127.0.0.3"].map((host) => startMemcached({ host, port })),
  );
});
after(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(trio.map((s) => s.kill()));
  await dns.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe("dns+ entries", () => {
  it("expand into one server per A record, follow record changes, and never empty the list when the name goes", async (t) => {
    dns.set("cache.test", { A: ["127.0.0.1", "127.0.0.2"] });
    const c = client({ servers: [`dns+cache.test:${port}`] });
    // The first call waits for the first answer instead of failing for want of a server.
    assert.equal(await c.set("k", "v"), true);
    assert.deepEqual(labels(c), [`127.0.0.1:${port}`, `127.0.0.2:${port}`]);
    assert.ok(c.health().servers.every((s) => s.source === "dns"));
    const changed = nextEvent<{ added: string[]; removed: string[]; reason: string }>(c, "topologyChange");
    const t0 = performance.now();
    dns.set("cache.test", { A: ["127.0.0.1", "127.0.0.2", "127.0.0.3"] });
    assert.deepEqual(await changed, { added: [`127.0.0.3:${port}`], removed: [], reason: "dns" });
    const tookMs = performance.now() - t0;
    t.diagnostic(`a new A record took effect in ${tookMs.toFixed(0)} ms (refreshInterval 100 ms)`);
    assert.equal(await c.set("k3", "v3"), true);
    const failed = nextEvent<{ source: string; entry: string; error: Error }>(c, "topologyError");
    dns.remove("cache.test");
    const e = await failed;
    assert.equal(e.source, "dns");
    assert.equal(e.entry, `dns+cache.test:${port}`);
    // The name is gone (NXDOMAIN): its servers would leave, but the list is never emptied.
    assert.match(
      e.error.message,
      /has no A or AAAA record; its servers leave the list, unless that would empty it/,
    );
    assert.equal(labels(c).length, 3);
    assert.equal(await c.get("k3"), "v3");
    assert.ok(c.health().topology.dnsErrors >= 1);
  });

  it("setServers to names that do not resolve rejects, and the old list stays", async () => {
    const c = client({ servers: [trio[0]!.label] });
    await assert.rejects(c.setServers([`dns+gone.test:${port}`]), (err: Error) => {
      assert.equal(err.name, "NoServersError");
      assert.match(err.message, /gone\.test.*the old list stays/);
      return true;
    });
    assert.deepEqual(labels(c), [trio[0]!.label]);
    assert.equal(await c.set("still", 1), true);
  });

  it("an entry that never resolves leaves calls failing with a clear error, not hanging", async () => {
    const c = client({ servers: [`dns+nothing.test:${port}`], timeout: 300 });
    await assert.rejects(
      c.get("k"),
      /the server list is empty: dns\+nothing.test:\d+: DNS answers that nothing\.test has no A or AAAA record/,
    );
  });
});

describe("options", () => {
  it("bad dns, discovery and warmUp options are InvalidArgumentErrors that say what to give", () => {
    assert.throws(
      () => new Client({ servers: ["a:1"], dns: { refreshInterval: 2 ** 31 } }),
      /dns.refreshInterval must be from 10 ms/,
    );
    assert.throws(() => new Client({ servers: ["a:1"], dns: { servers: ["not an ip"] } }), /dns.servers/);
    assert.throws(() => new Client({ discovery: { endpoint: "host:99999" } }), /discovery.endpoint/);
    assert.throws(() => new Client({ discovery: { endpoint: "h:1", interval: 1 } }), /discovery.interval/);
    assert.throws(() => new Client({ servers: ["a:1"], warmUp: {} as { window: number } }), /warmUp.window/);
    assert.throws(() => new Client({ servers: [] }), /servers: give at least one server/);
  });
});

describe("observability", () => {
  it("changes and errors reach Prometheus, the diagnostics channels and health()", async () => {
    dns.set("obs.test", { A: ["127.0.0.1"] });
    const c = client({ servers: [`dns+obs.test:${port}`] });
    const registry = new Registry();
    const m = collectMetrics(c, { registry });
    const published: unknown[] = [];
    const onChange = (msg: unknown) => published.push(msg);
    diagnostics.subscribe(CHANNELS.topology, onChange);
    try {
      assert.equal(await c.set("o", 1), true);
      const changed = nextEvent(c, "topologyChange");
      dns.set("obs.test", { A: ["127.0.0.1", "127.0.0.2"] });
      await changed;
      const failed = nextEvent(c, "topologyError");
      dns.remove("obs.test");
      await failed;
      const text = await registry.metrics();
      assert.match(text, /memcachio_topology_changes_total\{client="default"\} [1-9]/);
      assert.match(text, /memcachio_topology_errors_total\{source="dns",client="default"\} [1-9]/);
      assert.match(
        text,
        new RegExp(`memcachio_server_up\\{server="127.0.0.2:${port}",client="default"\\} 1`),
      );
      // The first answer filled the empty list; the second added a server.
      assert.deepEqual(published.at(-1), { added: [`127.0.0.2:${port}`], removed: [], reason: "dns" });
      assert.ok(c.health().topology.changes >= 1);
    } finally {
      diagnostics.unsubscribe(CHANNELS.topology, onChange);
      m.stop();
    }
  });
});

describe("dnssrv+ entries", () => {
  it("expand into one server per SRV record (target and port)", async () => {
    const a = await startMemcached();
    const b = await startMemcached();
    try {
      dns.set("node.test", { A: ["127.0.0.1"] });
      dns.set("_memcache._tcp.svc.test", {
        SRV: [
          { priority: 0, weight: 1, port: a.port, target: "node.test" },
          { priority: 0, weight: 1, port: b.port, target: "node.test" },
        ],
      });
      const c = client({ servers: ["dnssrv+_memcache._tcp.svc.test"] });
      assert.equal(await c.set("srv", 1), true);
      assert.deepEqual(labels(c), [`node.test:${a.port}`, `node.test:${b.port}`].sort());
      assert.ok(c.health().servers.every((s) => s.source === "srv"));
      const changed = nextEvent<{ removed: string[] }>(c, "topologyChange");
      dns.set("_memcache._tcp.svc.test", {
        SRV: [{ priority: 0, weight: 1, port: a.port, target: "node.test" }],
      });
      assert.deepEqual((await changed).removed, [`node.test:${b.port}`]);
    } finally {
      await Promise.all([a.kill(), b.kill()]);
    }
  });
});

describe("dnssrv+ entries when DNS fails or says no", () => {
  it("a failing SRV query keeps the entry's servers; an answer of no SRV record removes them, never emptying the list", async () => {
    const a = await startMemcached();
    const fixed = await startMemcached();
    try {
      dns.set("node.test", { A: ["127.0.0.1"] });
      dns.set("_mc._tcp.going.test", {
        SRV: [{ priority: 0, weight: 1, port: a.port, target: "node.test" }],
      });
      const c = client({ servers: [fixed.label, "dnssrv+_mc._tcp.going.test"] });
      assert.equal(await c.set("srv2", 1), true);
      assert.equal(labels(c).length, 2);
      const errors: string[] = [];
      c.on("topologyError", (e) => errors.push(e.error.message));
      dns.serverFailure("SRV", true);
      try {
        await waitFor(() => errors.length >= 2, 3000);
        assert.equal(labels(c).length, 2, "kept while the query fails");
      } finally {
        dns.serverFailure("SRV", false);
      }
      const changed = nextEvent<{ removed: string[] }>(c, "topologyChange");
      dns.remove("_mc._tcp.going.test");
      assert.deepEqual((await changed).removed, [`node.test:${a.port}`]);
      assert.deepEqual(labels(c), [fixed.label]);
      assert.ok(
        errors.some((m) => /no SRV record; its servers leave the list/.test(m)),
        errors.join("\n"),
      );
    } finally {
      await Promise.all([a.kill(), fixed.kill()]);
    }
  });
});

describe("plain host names", () => {
  it("are looked up again on schedule: connections move when the address changes", async () => {
    await Promise.all(trio.map((s, i) => client({ servers: [s.label] }).set("who", i)));
    dns.set("one.test", { A: ["127.0.0.1"] });
    const c = client({ servers: [`one.test:${port}`] });
    assert.equal(await c.get("who"), 0);
    await sleep(250); // a refresh records the address
    dns.set("one.test", { A: ["127.0.0.2"] });
    const until = performance.now() + 5000;
    let who: unknown = 0;
    while (who === 0 && performance.now() < until) {
      await sleep(50);
      who = await c.get("who");
    }
    assert.equal(who, 1);
  });
});

describe("discovery", () => {
  let endpoint: DiscoveryEndpoint;
  const nodes = () => trio.map((s, i) => ({ host: `node${i}.cache.test`, ip: s.host, port: s.port }));

  before(async () => {
    endpoint = await startDiscoveryEndpoint(nodes().slice(0, 2));
  });
  after(async () => {
    await endpoint.close();
  });

  it("takes the nodes of `config get cluster`, and follows version bumps", async () => {
    endpoint.mode = "ok";
    endpoint.setNodes(nodes().slice(0, 2));
    const c = client({ discovery: { endpoint: endpoint.address, interval: 100 } });
    assert.equal(await c.set("d", "v"), true);
    assert.deepEqual(labels(c), [trio[0]!.label, trio[1]!.label]);
    assert.ok(c.health().servers.every((s) => s.source === "discovery"));
    const changed = nextEvent<{ added: string[]; reason: string }>(c, "topologyChange");
    endpoint.setNodes(nodes());
    assert.deepEqual(await changed, { added: [trio[2]!.label], removed: [], reason: "discovery" });
    await assert.rejects(c.setServers([trio[0]!.label]), InvalidArgumentError);
  });

  for (const mode of ["zero-nodes", "malformed", "error"] as const) {
    it(`keeps the current list on a ${mode} reply, and reports it`, async () => {
      endpoint.mode = "ok";
      endpoint.setNodes(nodes());
      const c = client({ discovery: { endpoint: endpoint.address, interval: 100 } });
      assert.equal(await c.set("d", mode), true);
      const failed = nextEvent<{ source: string; error: Error }>(c, "topologyError");
      endpoint.mode = mode;
      const e = await failed;
      assert.equal(e.source, "discovery");
      assert.equal(labels(c).length, 3);
      assert.equal(await c.get("d"), mode);
      endpoint.mode = "ok";
    });
  }

  it("keeps the current list while the endpoint is unreachable", async () => {
    const gone = await startDiscoveryEndpoint(nodes());
    const c = client({ discovery: { endpoint: gone.address, interval: 100 } });
    assert.equal(await c.set("d", "unreachable"), true);
    const failed = nextEvent<{ error: Error }>(c, "topologyError");
    await gone.close();
    assert.match((await failed).error.message, /discovery endpoint/);
    assert.equal(labels(c).length, 3);
    assert.equal(await c.get("d"), "unreachable");
  });

  it("asks engines before 1.4.14 for the AmazonElastiCache:cluster item", async () => {
    const legacy = await startDiscoveryEndpoint(nodes(), { legacy: true });
    try {
      const c = client({ discovery: { endpoint: legacy.address, interval: 100 } });
      assert.equal(await c.set("d", "legacy"), true);
      assert.equal(labels(c).length, 3);
    } finally {
      await legacy.close();
    }
  });

  it("with TLS, reaches nodes by IP and checks their certificates against their host names", async () => {
    const pki = testPki();
    const secure = await startTlsMemcached();
    // The endpoint behind TLS too, as ElastiCache's with in-transit encryption.
    const plain = await startDiscoveryEndpoint([{ host: "localhost", ip: "127.0.0.1", port: secure.port }]);
    const front: TlsServer = createTlsServer({ key: pki.serverKey, cert: pki.serverCert }, (s) => {
      const back = connect(plain.port, "127.0.0.1");
      s.pipe(back).pipe(s);
      s.on("error", () => back.destroy());
      back.on("error", () => s.destroy());
    });
    await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
    const frontPort = (front.address() as { port: number }).port;
    try {
      const c = client({ discovery: { endpoint: `localhost:${frontPort}` }, tls: { ca: pki.ca } });
      assert.equal(await c.set("t", "tls"), true);
      assert.deepEqual(labels(c), [`127.0.0.1:${secure.port}`]);
      // A node whose certificate does not carry its host name is refused, though its IP is on it.
      plain.setNodes([{ host: "wrong.cache.test", ip: "127.0.0.1", port: secure.port }]);
      const wrong = client({
        discovery: { endpoint: `localhost:${frontPort}` },
        tls: { ca: pki.ca },
        timeout: 2000,
      });
      await assert.rejects(wrong.get("t"), (err: Error) =>
        /wrong\.cache\.test|altnames/i.test(
          `${err.message} ${String((err as { cause?: Error }).cause?.message)}`,
        ),
      );
    } finally {
      front.close();
      await plain.close();
      await secure.kill();
    }
  });
});
