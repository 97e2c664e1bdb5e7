/**
 * Options as a JavaScript user meets them: misspelt names, the default server, and whether a client
 * keeps the process alive (a script that forgets `close()` must still exit).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { Client, InvalidArgumentError } from "../../src/index.ts";
import { killOnExit, type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";
import { NudgeHolder } from "../support/nudge-holder.ts";
import { FaultProxy } from "../support/proxy.ts";
import { startTlsMemcached, testPki } from "../support/secure.ts";

const INDEX = resolve(import.meta.dirname, "../../src/index.ts");

let server: MemcachedServer;
let tlsServer: MemcachedServer | undefined;
let slowTls: FaultProxy | undefined;
before(async () => {
  server = await startMemcached();
});
after(async () => {
  await server.kill();
});

describe("option names", () => {
  const servers = ["127.0.0.1:11211"];

  it("a misspelt option is an InvalidArgumentError that names it and suggests the right one", () => {
    assert.throws(
      () => new Client({ servers, timout: 5 } as object),
      (err: Error) =>
        err instanceof InvalidArgumentError &&
        /unknown option "timout"\. Did you mean "timeout"\?/.test(err.message),
    );
    assert.throws(
      () => new Client({ servers, failover: { retrydelay: 5 } } as object),
      /unknown option "failover\.retrydelay"\. Did you mean "failover\.retryDelay"\?/,
    );
    assert.throws(
      () => new Client({ servers, shards: 3 } as object),
      /unknown option "shards"\. The options/,
    );
    for (const nested of ["pool", "retries", "localCache", "compression", "hedge", "dns", "warmUp", "auth"]) {
      assert.throws(
        () => new Client({ servers, [nested]: { nonsense: 1 } } as object),
        new RegExp(`unknown option "${nested}\\.nonsense"`),
      );
    }
  });

  it("every documented option is accepted", () => {
    const c = new Client({
      servers,
      timeout: 100,
      connectTimeout: 100,
      socketTimeout: 100,
      pool: { min: 1, max: 2, idleTimeoutMillis: 1000 },
      maxInFlight: 10,
      maxQueue: 10,
      maxValueSize: 1000,
      keyPrefix: "p:",
      compression: { threshold: 10, algorithm: "deflate", level: 1, maxDecompressedSize: 100_000 },
      failover: { failureThreshold: 2, retryDelay: 10, maxRetryDelay: 100, eject: true },
      failOpen: true,
      retries: { attempts: 1, baseDelay: 1, maxDelay: 2 },
      keepAlive: false,
      allowExitOnIdle: false,
      traceKeys: true,
      localCache: { max: 10, ttl: 10, staleIfError: 10 },
      dns: { refreshInterval: 1000, timeout: 100 },
      tls: { rejectUnauthorized: true },
    });
    assert.equal(c.health().servers.length, 1);
  });

  it("with no servers given, the client talks to 127.0.0.1:11211", () => {
    assert.deepEqual(
      new Client().health().servers.map((s) => s.label),
      ["127.0.0.1:11211"],
    );
    assert.deepEqual(
      new Client({ timeout: 50 }).health().servers.map((s) => s.label),
      ["127.0.0.1:11211"],
    );
  });
});

interface Script {
  child: ChildProcess;
  /** What it printed so far. */
  output(): string;
  /** Its exit code (null when killed) and everything it printed. */
  done: Promise<{ code: number | null; out: string }>;
}

/**
 * Runs `body` as an ES module in a child process, with `Client`, the server's `label` and `tlsLabel`
 * (TLS memcached behind the fault proxy, when started) and `ca` (its CA) in scope.
 */
function script(body: string): Script {
  const scope = {
    label: server.label,
    tlsLabel: slowTls?.label ?? "",
    ca: tlsServer === undefined ? "" : testPki().ca,
  };
  const source = `import { Client } from ${JSON.stringify(INDEX)};\nconst { label, tlsLabel, ca } = ${JSON.stringify(scope)};\n${body}`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", source], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  killOnExit(child);
  let out = "";
  child.stdout!.on("data", (b: Buffer) => {
    out += b.toString();
  });
  // Bounded: a child still running after this long is killed, and its exit code is then null.
  const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const done = once(child, "exit").then(([code]) => {
    clearTimeout(guard);
    return { code: code as number | null, out };
  });
  return { child, output: () => out, done };
}

describe("process exit", () => {
  it("a script that forgets close() still exits once its requests are answered", async () => {
    const { done } = script(`
      const mc = new Client({ servers: [label] });
      await mc.set("exit:k", "v");
      console.log(await mc.get("exit:k"));`);
    assert.deepEqual(await done, { code: 0, out: "v\n" });
  });

  it("a request in flight keeps the process alive until it is answered (here: its deadline)", async () => {
    await server.pause();
    try {
      const { done } = script(`
        const mc = new Client({ servers: [label], timeout: 500 });
        await mc.get("exit:paused").catch((err) => console.log(err.name));`);
      assert.deepEqual(await done, { code: 0, out: "TimeoutError\n" });
    } finally {
      server.resume();
    }
  });

  describe("over TLS, through a proxy that delays every reply", () => {
    before(async () => {
      tlsServer = await startTlsMemcached();
      slowTls = await new FaultProxy(tlsServer.host, tlsServer.port).start();
      slowTls.mode = "delay";
    });
    after(async () => {
      await slowTls?.stop();
      await tlsServer?.kill();
    });

    it("a client whose slow replies were nudged still exits once they are answered", async () => {
      // Replies later than the nudge delay make the connection nudge; the last nudge's reply may be held
      // by memcached until more bytes come. Owing only nudges, the connection is idle.
      slowTls!.delayMs = 60;
      const { done } = script(`
        const mc = new Client({ servers: [tlsLabel], tls: { ca }, timeout: 5000, connectTimeout: 5000 });
        await mc.set("tls:k", "v");
        console.log(await mc.get("tls:k"));`);
      assert.deepEqual(await done, { code: 0, out: "v\n" });
    });

    it("after nudged replies the connection goes quiet: no nudge keeps it busy, close() finishes", async () => {
      slowTls!.delayMs = 60;
      const mc = new Client({
        servers: [slowTls!.label],
        tls: { ca: testPki().ca },
        timeout: 5000,
        connectTimeout: 5000,
        socketTimeout: 5000,
      });
      await mc.set("tls:quiet", "v");
      assert.equal(await mc.get("tls:quiet"), "v");
      // Idle now. Before, each nudge's reply was held until the next nudge: ~50 a second, forever.
      // A nudge written just before the reply came may not have reached the proxy (this process's event
      // loop) yet: let it arrive, and its reply come back, before counting.
      await sleep(200);
      const written = slowTls!.bytesUp;
      await sleep(500);
      assert.equal(slowTls!.bytesUp, written, "nothing written while idle");
      const closed = await Promise.race([mc.close().then(() => true), sleep(5000).then(() => false)]);
      assert.ok(closed, "close() finished");
    });

    it("a nudge whose reply the server holds is owed to nobody: not in flight, not waited for by close()", async () => {
      const holder = await new NudgeHolder(server, 60).start();
      const mc = new Client({
        servers: [holder.label],
        tls: { ca: testPki().ca },
        timeout: 5000,
        connectTimeout: 5000,
        socketTimeout: 5000,
      });
      try {
        await mc.set("tls:held", "v");
        assert.equal(await mc.get("tls:held"), "v");
        assert.ok(holder.held > 0, "the client nudged, and a nudge's reply is held");
        assert.equal(mc.health().servers[0]!.inFlight, 0, "nothing owed to anyone");
        const closed = await Promise.race([mc.close().then(() => true), sleep(5000).then(() => false)]);
        assert.ok(closed, "close() finished");
      } finally {
        await holder.stop();
      }
    });

    it("a request queued while the TLS handshake is still under way keeps the process alive", async () => {
      // The first get times out during the handshake, which leaves the connection with nothing queued
      // for a moment: the socket must stay referenced for the second.
      slowTls!.delayMs = 700;
      const { done } = script(`
        const mc = new Client({ servers: [tlsLabel], tls: { ca }, timeout: 200, connectTimeout: 5000, socketTimeout: 5000 });
        console.log(await mc.get("tls:first").catch((err) => err.name));
        console.log(await mc.get("tls:second", { timeout: 10000 }));`);
      assert.deepEqual(await done, { code: 0, out: "TimeoutError\nundefined\n" });
    });
  });

  it("allowExitOnIdle: false keeps the process alive with an open connection", async () => {
    const { child, output, done } = script(`
      const mc = new Client({ servers: [label], allowExitOnIdle: false });
      console.log(await mc.get("exit:none"));`);
    await waitFor(() => output() !== "" || child.exitCode !== null, 20_000);
    assert.equal(output(), "undefined\n");
    await sleep(1000);
    assert.equal(child.exitCode, null, "still running a second after its last answer");
    child.kill();
    await done;
  });
});
