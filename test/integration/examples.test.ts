/**
 * The programs under `examples/` run as a reader runs them — importing `memcachio`, talking to
 * 127.0.0.1:11211 — against servers this file starts: the addresses an example names are rewritten
 * to theirs on the way in (`examples-resolve.mjs`) and back in its output, which must be exactly the
 * one listed here, with nothing on stderr. (readme.test.ts checks that the docs show them whole.)
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { createServer as createTlsServer } from "node:tls";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { startDiscoveryEndpoint } from "../support/discovery-endpoint.ts";
import { startDnsServer } from "../support/dns-server.ts";
import { freePort, startMemcached } from "../support/memcached.ts";
import { startAuthfileMemcached, startSaslMemcached, startTlsMemcached, testPki } from "../support/secure.ts";
import { startTwemproxy } from "../support/twemproxy.ts";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const HOOKS = pathToFileURL(join(import.meta.dirname, "examples-resolve.mjs")).href;
const TSX = import.meta.resolve("tsx");

/** What an example needs from the harness, once started. */
interface Setup {
  /** Addresses the example names → the started servers' (rewritten in its text, and back in its output). */
  addresses: [string, string][];
  /** Other text of the example → what it gets instead (options a reader's environment would not need). */
  rewrites?: [string, string][];
  env?: Record<string, string>;
  /** Working directory (default: the repository). */
  cwd?: string;
  stop(): Promise<void>;
}

interface Example {
  start(): Promise<Setup>;
  /** The exact output, with the addresses the example names. */
  stdout: string;
}

/** Stops of what is still running, for `after` when an example did not get to stop its own. */
const running = new Set<() => Promise<void>>();
after(async () => {
  await Promise.all([...running].map((stop) => stop()));
});

function started(setup: Setup): Setup {
  const stop = async () => {
    running.delete(stop);
    await setup.stop();
  };
  running.add(stop);
  return { ...setup, stop };
}

/** `n` plain memcached servers, for the addresses 127.0.0.1:11211, :11212, … */
function memcached(n: number): () => Promise<Setup> {
  return async () => {
    const servers = await Promise.all(Array.from({ length: n }, () => startMemcached()));
    return started({
      addresses: servers.map((s, i) => [`127.0.0.1:${11211 + i}`, s.label]),
      stop: async () => {
        await Promise.all(servers.map((s) => s.kill()));
      },
    });
  };
}

const PASSWORD = "examples-secret";

/** memcached -S -Z, asking for a client certificate: the example reads ca.pem, client.pem, client.key. */
async function saslOverTls(): Promise<Setup> {
  const { paths } = testPki();
  const tls = `ssl_chain_cert=${paths.serverCert},ssl_key=${paths.serverKey},ssl_ca_cert=${paths.ca},ssl_verify_mode=2`;
  const server = await startSaslMemcached({ app: PASSWORD }, { args: ["-Z", "-o", tls] });
  return started({
    addresses: [["cache-1.internal:11211", server.label]],
    env: { MEMCACHED_PASSWORD: PASSWORD },
    cwd: dirname(paths.ca), // the test PKI's directory: ca.pem, client.pem, client.key
    stop: () => server.kill(),
  });
}

/** memcached -Y with an auth file holding the example's user. */
async function asciiAuth(): Promise<Setup> {
  const server = await startAuthfileMemcached({ app: PASSWORD });
  return started({
    addresses: [["127.0.0.1:11211", server.label]],
    env: { MEMCACHED_PASSWORD: PASSWORD },
    stop: () => server.kill(),
  });
}

async function twemproxy(): Promise<Setup> {
  const backends = await Promise.all([startMemcached(), startMemcached()]);
  const proxy = await startTwemproxy(backends);
  return started({
    addresses: [["127.0.0.1:22121", proxy.label]],
    stop: async () => {
      await proxy.stop();
      await Promise.all(backends.map((s) => s.kill()));
    },
  });
}

/** A headless Service's name, answered by a DNS server of ours with the address of a memcached. */
async function kubernetes(): Promise<Setup> {
  const [server, dns] = await Promise.all([startMemcached(), startDnsServer()]);
  dns.set("memcached.cache.svc.cluster.local", { A: ["127.0.0.1"] });
  return started({
    addresses: [],
    rewrites: [
      [".cluster.local:11211", `.cluster.local:${server.port}`],
      ["dns: { refreshInterval: 10_000 }", `dns: { refreshInterval: 10_000, servers: ["${dns.address}"] }`],
    ],
    stop: async () => {
      await Promise.all([server.kill(), dns.close()]);
    },
  });
}

/** A configuration endpoint behind TLS listing one TLS node by host name, trusted through NODE_EXTRA_CA_CERTS. */
async function elastiCache(): Promise<Setup> {
  const pki = testPki();
  const node = await startTlsMemcached();
  const endpoint = await startDiscoveryEndpoint([{ host: "localhost", ip: "127.0.0.1", port: node.port }]);
  const front = createTlsServer({ key: pki.serverKey, cert: pki.serverCert }, (s) => {
    const back = connect(endpoint.port, "127.0.0.1");
    s.pipe(back).pipe(s);
    s.on("error", () => back.destroy());
    back.on("error", () => s.destroy());
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  const port = (front.address() as { port: number }).port;
  return started({
    addresses: [],
    rewrites: [["my-cluster.xxxxxx.cfg.use1.cache.amazonaws.com:11211", `localhost:${port}`]],
    env: { NODE_EXTRA_CA_CERTS: pki.paths.ca },
    stop: async () => {
      await new Promise<void>((r) => front.close(() => r()));
      await Promise.all([endpoint.close(), node.kill()]);
    },
  });
}

/** One memcached, and 127.0.0.1:11212 as a port where nothing listens. */
async function oneUpOneDead(): Promise<Setup> {
  const [server, dead] = await Promise.all([startMemcached(), freePort()]);
  return started({
    addresses: [
      ["127.0.0.1:11211", server.label],
      ["127.0.0.1:11212", `127.0.0.1:${dead}`],
    ],
    stop: () => server.kill(),
  });
}

async function noServer(): Promise<Setup> {
  return { addresses: [], stop: async () => {} };
}

const EXAMPLES: Record<string, Example> = {
  "quick-start.mjs": { start: memcached(1), stdout: "{ name: 'Ada' } 1\n" },
  "values.ts": {
    start: memcached(1),
    stdout: [
      "string 0 grüezi",
      "bytes 1 <Buffer ca fe>",
      "json 2 { id: 7, tags: [ 'new' ] }",
      "number 3 3.5",
      "bigint 4 18446744073709551615n",
      "",
    ].join("\n"),
  },
  "compression.ts": { start: memcached(1), stdout: "flags: 0x12\nrows read back: 2000\n" },
  "keys.ts": { start: memcached(1), stdout: "sunny\nrefused: MC_ERR_INVALID_KEY\n" },
  "keyv.ts": { start: memcached(1), stdout: "{ user: 42 }\nundefined\n" },
  "sasl-tls.ts": { start: saslOverTls, stdout: "hello, privately\n" },
  "ascii-auth.ts": { start: asciiAuth, stdout: "hello, authenticated\nrefused: MC_ERR_AUTH\n" },
  "twemproxy.mjs": {
    start: twemproxy,
    stdout: "[ 'page:/', 'page:/about' ]\nstats: ask the servers behind the proxy\n",
  },
  "fetch.ts": {
    start: memcached(1),
    stdout: [
      "20 callers, 1 load: { id: '42', name: 'Teapot', price: 20 }",
      "prices while one reloads: [ 20, 20, 20, 20, 25 ]",
      "then: 25 (2 loads in all)",
      "",
    ].join("\n"),
  },
  "when-servers-fail.ts": {
    start: oneUpOneDead,
    stdout: [
      "down: 127.0.0.1:11212 (ConnectionError)",
      "10 of 10 keys read back",
      "127.0.0.1:11211 up",
      "127.0.0.1:11212 down",
      "read: undefined",
      "write: ServerUnavailableError",
      "",
    ].join("\n"),
  },
  "live-topology.ts": {
    start: memcached(3),
    stdout: [
      "addServer: added [127.0.0.1:11213], removed []",
      "removeServer: added [], removed [127.0.0.1:11211]",
      "[ '127.0.0.1:11212', '127.0.0.1:11213' ]",
      "hello",
      "",
    ].join("\n"),
  },
  "kubernetes.mjs": { start: kubernetes, stdout: "hello from every pod's cache\n[ 'dns up' ]\n" },
  "elasticache.mjs": { start: elastiCache, stdout: "hello from the cluster\n[ 'discovery up' ]\n" },
  "hash-ring.ts": { start: noServer, stdout: "10.0.0.1:11211 then 10.0.0.2:11211\n10.0.0.2:11211\n" },
  "diagnostics-channel.ts": {
    start: memcached(1),
    stdout: "connection open\nset 1 key(s)\nget 1 key(s) hit=true\ngetMany 3 key(s) found=1\n",
  },
  "opentelemetry.ts": {
    start: memcached(1),
    stdout: "set on 127.0.0.1, in GET /cart\nget on 127.0.0.1 hit=true, in GET /cart\n",
  },
  "prometheus.ts": {
    start: memcached(1),
    stdout: [
      'memcachio_hits_total{client="sessions"} 1',
      'memcachio_hits_total{client="pages"} 0',
      'memcachio_misses_total{client="sessions"} 0',
      'memcachio_misses_total{client="pages"} 1',
      'memcachio_servers_up{client="sessions"} 1',
      'memcachio_servers_up{client="pages"} 1',
      "",
    ].join("\n"),
  },
  "ttl-mistakes.mjs": {
    start: memcached(1),
    stdout: [
      "set(key, value, 60): refused (MC_ERR_INVALID_ARGUMENT)",
      "set(key, value, { expires: 60 }): refused (MC_ERR_INVALID_ARGUMENT)",
      "get(key, callback): refused (MC_ERR_INVALID_ARGUMENT)",
      "set(key, value, { ttl: 60 }): true",
      "",
    ].join("\n"),
  },
  "from-memjs.ts": {
    start: memcached(1),
    stdout: [
      "hello hello",
      "{ name: 'Ada' }",
      "{ success: true, value: 10 } 15n",
      "[ 'greeting', 'user:42' ]",
      "<Buffer 89 50 4e 47>",
      "",
    ].join("\n"),
  },
  "from-memcached.ts": {
    start: memcached(3),
    stdout: [
      "memcachio reads { name: 'Ada' }",
      "memcached reads { name: 'Grace' }",
      "getMulti { 'user:42': { name: 'Ada' } }",
      "getMany Map(1) { 'user:42' => { name: 'Ada' } }",
      "100 of 100 found",
      "",
    ].join("\n"),
  },
  "memcached-codec.ts": {
    start: memcached(1),
    stdout: "memcachio reads 42 <Buffer 00 ff 80>\nmemcached reads 43 <Buffer 01 fe>\n",
  },
};

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Runs `file` with `setup`'s rewrites: its stdout with the started addresses mapped back to the example's. */
async function runExample(file: string, setup: Setup): Promise<{ stdout: string; stderr: string }> {
  const source = readFileSync(join(ROOT, "examples", file), "utf8");
  const rewrites = [...setup.addresses, ...(setup.rewrites ?? [])];
  for (const [from] of rewrites) assert.ok(source.includes(from), `${file} names ${from}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...setup.env,
    MEMCACHIO_EXAMPLE_REWRITES: JSON.stringify(rewrites),
    // Deadlines of 2 s where an example sets none: a machine busy with other suites can stall a
    // memcached for more than the default 250 ms, which is not what these runs check.
    MEMCACHIO_EXAMPLE_TIMEOUT: "2000",
  };
  delete env.NODE_TEST_CONTEXT; // the example is a program of its own, not part of this test run
  const args = ["--import", HOOKS, "--import", TSX, join(ROOT, "examples", file)];
  let out: { stdout: string; stderr: string };
  try {
    out = await run(process.execPath, args, { cwd: setup.cwd ?? ROOT, env, timeout: 20_000 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    assert.fail(`${file} failed: ${e.message}\nstdout:\n${e.stdout ?? ""}\nstderr:\n${e.stderr ?? ""}`);
  }
  let stdout = out.stdout;
  for (const [from, to] of setup.addresses)
    stdout = stdout.replace(new RegExp(`${escaped(to)}(?!\\d)`, "g"), from);
  return { stdout, stderr: out.stderr };
}

describe("every example runs and prints what it should", { concurrency: 2 }, () => {
  for (const [file, example] of Object.entries(EXAMPLES)) {
    it(file, { timeout: 30_000 }, async () => {
      const setup = await example.start();
      try {
        const { stdout, stderr } = await runExample(file, setup);
        assert.equal(stderr, "", `${file} wrote to stderr`);
        assert.equal(stdout, example.stdout);
      } finally {
        await setup.stop();
      }
    });
  }
});

it("every program in examples/ is run above, and every one listed there exists", () => {
  const files = readdirSync(join(ROOT, "examples")).filter((f) => /\.(ts|mjs)$/.test(f));
  assert.deepEqual(files.sort(), Object.keys(EXAMPLES).sort());
});
