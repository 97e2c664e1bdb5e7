import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import {
  AuthError,
  CHANNELS,
  Client,
  type ClientOptions,
  ConnectionError,
  TLSError,
} from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { forEachProtocol } from "../support/protocols.ts";
import { FaultProxy } from "../support/proxy.ts";
import { startAuthfileMemcached, startSaslMemcached, startTlsMemcached, testPki } from "../support/secure.ts";

const PASSWORD = "s3cret-Pa55";
const WRONG = "hunter2-wrong-password";
const servers: MemcachedServer[] = [];
const clients: Client[] = [];

function client(o: ClientOptions): Client {
  const c = new Client({ timeout: 1000, ...o });
  clients.push(c);
  return c;
}

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.kill()));
});

/** Everything a failed call exposes: message, stack, cause chain, JSON. */
function exposed(err: unknown): string {
  let out = "";
  for (let e: unknown = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    out += `${String(e)}\n${(e as Error).stack ?? ""}\n${JSON.stringify(e)}\n${inspect(e, { depth: 5 })}\n`;
    if (typeof e !== "object") break;
  }
  return out;
}

describe("SASL PLAIN (binary, memcached -S)", () => {
  let sasl: MemcachedServer;
  before(async () => {
    sasl = await startSaslMemcached({ alice: PASSWORD });
    servers.push(sasl);
  });

  it("the right password: every command works on every new connection", async () => {
    const mc = client({
      servers: [sasl.label],
      protocol: "binary",
      auth: { username: "alice", password: PASSWORD },
      pool: { min: 2, max: 2 },
    });
    const keys = Array.from({ length: 200 }, (_, i) => `sasl:${i}`);
    assert.deepEqual(
      await Promise.all(keys.map((k) => mc.set(k, k))),
      keys.map(() => true),
    );
    const got = await mc.getMany(keys);
    assert.equal(got.size, 200);
    assert.equal(await mc.incr("sasl:ctr", 2n, { initial: 5n }), 5n);
    assert.equal(mc.health().servers[0]?.pool.active, 2, "both pooled connections authenticated");
  });

  it("a wrong password is an AuthError, marks the server down at once, and does not storm it", async () => {
    const watcher = client({
      servers: [sasl.label],
      protocol: "binary",
      auth: { username: "alice", password: PASSWORD },
    });
    const connections = async () => Number((await watcher.stats())[sasl.label]?.total_connections);
    const before = await connections();
    const mc = client({
      servers: [sasl.label],
      protocol: "binary",
      auth: { username: "alice", password: WRONG },
      failover: { retryDelay: 60_000 },
    });
    await assert.rejects(mc.get("x"), AuthError);
    assert.equal(mc.health().servers[0]?.state, "down");
    // 500 more calls: refused at once, without a connection attempt each.
    const results = await Promise.allSettled(Array.from({ length: 500 }, (_, i) => mc.get(`x${i}`)));
    assert.ok(results.every((r) => r.status === "rejected" && r.reason instanceof ConnectionError));
    assert.ok((await connections()) - before <= 3, "a handful of connections, not one per call");
  });

  it("no credentials against a SASL server is an AuthError", async () => {
    const mc = client({ servers: [sasl.label], protocol: "binary" });
    await assert.rejects(mc.set("x", 1), (e: unknown) => e instanceof AuthError && /auth/.test(e.message));
  });
});

describe("ASCII auth (meta and text, memcached -Y)", () => {
  let authfile: MemcachedServer;
  before(async () => {
    authfile = await startAuthfileMemcached({ bob: PASSWORD });
    servers.push(authfile);
  });

  for (const protocol of ["meta", "text"] as const) {
    it(`the right password: commands work, pipelined behind the auth (${protocol})`, async () => {
      const mc = client({
        servers: [authfile.label],
        protocol,
        auth: { username: "bob", password: PASSWORD },
      });
      const all = await Promise.all(Array.from({ length: 100 }, (_, i) => mc.set(`a:${i}`, i)));
      assert.ok(all.every((r) => r === true));
      assert.equal(await mc.get("a:42"), 42);
      assert.deepEqual(
        await mc.getMany(["a:1", "a:2"]),
        new Map([
          ["a:1", 1],
          ["a:2", 2],
        ]),
      );
      assert.equal(await mc.get("_"), undefined, "the auth set stored nothing");
    });

    it(`a wrong password, or none, is an AuthError (${protocol})`, async () => {
      const wrong = client({
        servers: [authfile.label],
        protocol,
        auth: { username: "bob", password: WRONG },
      });
      await assert.rejects(wrong.get("a:1"), AuthError);
      const none = client({ servers: [authfile.label], protocol });
      await assert.rejects(none.get("a:1"), AuthError);
    });
  }

  it("against a server without -Y, the auth set is born expired: the password is not stored", async () => {
    const plain = await startMemcached();
    servers.push(plain);
    const mc = client({ servers: [plain.label], auth: { username: "bob", password: PASSWORD } });
    assert.equal(await mc.set("p", 1), true);
    const raw = client({ servers: [plain.label] });
    assert.equal(await raw.get("_"), undefined);
    assert.equal(Number((await raw.stats())[plain.label]?.curr_items), 1, "only the caller's item");
  });
});

describe("TLS (memcached -Z)", () => {
  let tls: MemcachedServer;
  let mtls: MemcachedServer;
  let plain: MemcachedServer;
  before(async () => {
    tls = await startTlsMemcached();
    mtls = await startTlsMemcached({ requireClientCert: true });
    plain = await startMemcached();
    servers.push(tls, mtls, plain);
  });

  forEachProtocol((protocol) => {
    it("a client trusting the test CA connects and works", async () => {
      const mc = client({ servers: [tls.label], protocol, tls: { ca: testPki().ca } });
      assert.equal(await mc.set("t", "over tls"), true);
      assert.equal(await mc.get("t"), "over tls");
      const big = "x".repeat(300_000);
      assert.equal(await mc.set("big", big), true);
      assert.equal(await mc.get("big"), big);
    });

    it("long pipelines of big writes complete (memcached's TLS stall is nudged away)", async () => {
      const mc = client({ servers: [tls.label], protocol, tls: { ca: testPki().ca }, timeout: 3000 });
      const value = "v".repeat(1024);
      const keys = Array.from({ length: 2000 }, (_, i) => `pipe:${i}`);
      // 2 MB of sets in one burst: memcached 1.6.18 stops reading halfway without the nudge.
      assert.ok((await Promise.all(keys.map((k) => mc.set(k, value)))).every((ok) => ok === true));
      const got = await mc.getMany(keys);
      assert.equal(got.size, keys.length);
      assert.ok([...got.values()].every((v) => v === value));
    });

    it("a wrong CA fails with TLSError (certificate verification is on by default)", async () => {
      const wrongCa = client({ servers: [tls.label], protocol, tls: { ca: testPki().otherCa } });
      await assert.rejects(wrongCa.get("t"), TLSError);
      const systemCas = client({ servers: [tls.label], protocol, tls: true });
      await assert.rejects(systemCas.get("t"), TLSError);
    });

    it("a wrong host name fails with TLSError", async () => {
      const mc = client({
        servers: [tls.label],
        protocol,
        tls: { ca: testPki().ca, servername: "not-the-server" },
      });
      await assert.rejects(mc.get("t"), TLSError);
    });

    it("plain TCP to a TLS port fails cleanly within the deadline, saying the port may expect TLS", async () => {
      const mc = client({ servers: [tls.label], protocol, timeout: 500 });
      const t0 = performance.now();
      await assert.rejects(mc.get("t"), (e: unknown) => {
        assert.ok(e instanceof ConnectionError, String(e));
        assert.match(
          e.message,
          /before answering anything \(if this port expects TLS, set the client's `tls` option\)/,
        );
        return true;
      });
      assert.ok(performance.now() - t0 < 1500, "not stuck past the 500 ms deadline");
    });

    it("TLS to a plain port fails with TLSError saying the port does not seem to speak TLS", async () => {
      const mc = client({ servers: [plain.label], protocol, timeout: 500, tls: { ca: testPki().ca } });
      await assert.rejects(mc.get("t"), (e: unknown) => {
        assert.ok(e instanceof TLSError, String(e));
        assert.match(e.message, /the server does not seem to speak TLS on this port/);
        return true;
      });
    });

    it("an incr waiting for a TLS handshake that is cut is sent on a new connection (it never left)", async () => {
      const proxy = await new FaultProxy(tls.host, tls.port).start();
      try {
        proxy.mode = "reset-once"; // the first connection is dropped at its ClientHello
        const mc = client({
          servers: [proxy.label],
          protocol,
          tls: { ca: testPki().ca, servername: "localhost" },
        });
        assert.equal(await mc.incr(`tls-n-${protocol}`, 5, { initial: 5 }), 5n);
        assert.equal(proxy.accepted, 2);
      } finally {
        await proxy.stop();
      }
    });

    it("client certificates: required by the server, presented by the client", async () => {
      const pki = testPki();
      const without = client({ servers: [mtls.label], protocol, tls: { ca: pki.ca } });
      await assert.rejects(without.get("t"), ConnectionError);
      const withCert = client({
        servers: [mtls.label],
        protocol,
        tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
      });
      assert.equal(await withCert.set("m", "mutual"), true);
      assert.equal(await withCert.get("m"), "mutual");
    });
  });

  it("TLS and SASL together (binary)", async () => {
    const both = await startSaslMemcached(
      { carol: PASSWORD },
      {
        args: [
          "-Z",
          "-o",
          `ssl_chain_cert=${testPki().paths.serverCert},ssl_key=${testPki().paths.serverKey}`,
        ],
      },
    );
    servers.push(both);
    const mc = client({
      servers: [both.label],
      protocol: "binary",
      tls: { ca: testPki().ca },
      auth: { username: "carol", password: PASSWORD },
    });
    assert.equal(await mc.set("ts", 1), true);
    assert.equal(await mc.get("ts"), 1);
  });
});

describe("secrets never leak", () => {
  it("the password is in no error, event, diagnostics message, health report or inspect output", async () => {
    const sasl = await startSaslMemcached({ dave: PASSWORD });
    const authfile = await startAuthfileMemcached({ dave: PASSWORD });
    servers.push(sasl, authfile);
    const seen: string[] = [];
    const record = (message: unknown, name: string | symbol) =>
      seen.push(`${String(name)} ${inspect(message, { depth: 6 })}`);
    const names = [
      CHANNELS.serverDown,
      CHANNELS.serverUp,
      CHANNELS.connectionOpen,
      CHANNELS.connectionClose,
      ...["start", "end", "asyncStart", "asyncEnd", "error"].map((e) => `tracing:${CHANNELS.command}:${e}`),
    ];
    for (const n of names) subscribe(n, record);
    try {
      for (const [label, protocol] of [
        [sasl.label, "binary"],
        [authfile.label, "meta"],
        [authfile.label, "text"],
      ] as const) {
        const mc = client({ servers: [label], protocol, auth: { username: "dave", password: WRONG } });
        mc.on("serverDown", (e) => seen.push(exposed(e.error) + inspect(e, { depth: 6 })));
        for (const call of [mc.get("k"), mc.set("k", "v"), mc.getMany(["a", "b"])]) {
          seen.push(
            exposed(
              await call.then(
                () => assert.fail("should reject"),
                (e: unknown) => e,
              ),
            ),
          );
        }
        seen.push(JSON.stringify(mc.health()), inspect(mc, { depth: 8, showHidden: true }));
      }
    } finally {
      for (const n of names) unsubscribe(n, record);
    }
    const all = seen.join("\n");
    assert.ok(all.includes("AuthError"), "the failures were recorded");
    assert.ok(!all.includes(WRONG), "the password appears nowhere");
    assert.ok(!all.includes(Buffer.from(WRONG).toString("base64")), "nor in base64");
  });
});
