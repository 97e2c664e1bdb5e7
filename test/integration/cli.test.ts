/**
 * `memcachio check|stats|--help|--version` (src/cli.ts), run as a child process against real
 * memcached servers: exit codes 0/1/2/3 and the one-line status that monitors read.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { build } from "tsup";
import { freePort, type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { startTlsMemcached, testPki } from "../support/secure.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = join(ROOT, "src/cli.ts");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

let up: MemcachedServer;
let paused: MemcachedServer;
let secure: MemcachedServer;
/** A loopback port nothing listens on. */
let closed: string;
/** A folder for the certificate (PEM) of a CA that did not sign `secure`'s certificate: `otherCa`. */
let pems: string;
let otherCa: string;

before(async () => {
  [up, paused, secure] = await Promise.all([startMemcached(), startMemcached(), startTlsMemcached()]);
  closed = `127.0.0.1:${await freePort()}`;
  pems = mkdtempSync(join(tmpdir(), "memcachio-cli-ca-"));
  otherCa = join(pems, "other-ca.pem");
  writeFileSync(otherCa, testPki().otherCa);
});
after(async () => {
  paused.resume();
  rmSync(pems, { recursive: true, force: true });
  await Promise.all([up.kill(), paused.kill(), secure.kill()]);
});

/** Whether something accepts connections on 127.0.0.1:`port` (a memcached the machine may run). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Runs a script with node; resolves with its exit code and output (never rejects on a non-zero exit). */
function node(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}

/** Runs the CLI from source. */
const run = (...args: string[]) => node(["--import", "tsx", CLI, ...args]);

/** Exactly one line, ending with a newline. */
const ONE_LINE = /^[^\n]*\n$/;

describe("memcachio --help, --version, bad usage", () => {
  it("--help: exit 0, every command and option", async () => {
    const r = await run("--help");
    assert.equal(r.code, 0, r.out + r.err);
    for (const word of ["check", "stats", "dashboard", "alerts", "--tls-ca", "--prefix", "--group", "--warn"])
      assert.ok(r.out.includes(word), `${word} in\n${r.out}`);
  });

  it("--help says which server check and stats ask when none is given", async () => {
    const r = await run("--help");
    assert.match(r.out, /^ {2}servers +host:port.*\n +\(default 127\.0\.0\.1:11211/m);
  });

  it("--version: the version in package.json", async () => {
    const r = await run("--version");
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${VERSION}\n`);
  });

  it("--version of the built CLI, run through a link as npx runs it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "memcachio-cli-"));
    try {
      // The package as installed: its package.json, its dependencies, the built dist/.
      writeFileSync(join(dir, "package.json"), readFileSync(join(ROOT, "package.json")));
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
      await build({
        config: false,
        silent: true,
        entry: { cli: CLI },
        outDir: join(dir, "dist"),
        format: ["esm"],
        platform: "node",
        target: "node20",
        external: ["prom-client"],
      });
      symlinkSync(join(dir, "dist/cli.js"), join(dir, "memcachio"));
      const r = await node([join(dir, "memcachio"), "--version"]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `${VERSION}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("bad usage: exit 3, one UNKNOWN line on stdout, the usage on stderr", async () => {
    for (const args of [
      [],
      ["bogus", up.label],
      ["check", up.label, "--timeout", "0"],
      ["check", up.label, "--timeout", "-5"],
      ["check", up.label, "--group", "slabs"],
      ["check", up.label, "--tls-ca", join(tmpdir(), "no-such-ca.pem")],
      ["stats", up.label, "--warn", "5"],
      ["dashboard", "--prefix", "has space"],
      ["alerts", up.label],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.out}`);
      assert.match(r.out, /^UNKNOWN - /, args.join(" "));
      assert.match(r.out, ONE_LINE, args.join(" "));
      assert.match(r.err, /^usage: memcachio check\|stats/, args.join(" "));
    }
  });
});

describe("memcachio check", () => {
  it("no server given: checks 127.0.0.1:11211, as new Client() does", async () => {
    // Whether a memcached runs on this machine or not, the line is about that server, not a usage error.
    const running = await listening(11211);
    const r = await run("check", "--timeout", "2000");
    assert.equal(r.code, running ? 0 : 2, r.out);
    assert.match(r.out, ONE_LINE);
    assert.match(r.out, /\| '127\.0\.0\.1:11211'=/);
    if (!running) {
      assert.match(r.out, /^MEMCACHED CRITICAL - 0\/1 servers up; 127\.0\.0\.1:11211 down \(.*ECONNREFUSED/);
    }
  });

  it("all servers up: exit 0, one OK line with the latency of each", async () => {
    const r = await run("check", up.label, "--protocol", "binary");
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim().split("\n").length, 1);
    assert.match(
      r.out,
      /^MEMCACHED OK - 1\/1 servers up, slowest [\d.]+ ms \| '127\.0\.0\.1:\d+'=[\d.]+ms\n$/,
    );
  });

  it("--protocol text: exit 0 against a memcached (as it would through a text-only proxy)", async () => {
    const r = await run("check", up.label, "--protocol", "text");
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^MEMCACHED OK - 1\/1 servers up/);
  });

  it("one of two down: exit 1 WARNING, naming the server that is down", async () => {
    const r = await run("check", `${up.label},${closed}`, "--timeout", "2000");
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^MEMCACHED WARNING - 1\/2 servers up/);
    assert.ok(r.out.includes(`${closed} down`), r.out);
    assert.ok(r.out.includes(`'${closed}'=U`), r.out);
  });

  it("a hung server (SIGSTOP) is down within --timeout: exit 2 CRITICAL", async () => {
    await paused.pause();
    try {
      const r = await run("check", paused.label, "--timeout", "300");
      assert.equal(r.code, 2, r.out);
      assert.match(r.out, /^MEMCACHED CRITICAL - 0\/1 servers up; .*timed out/);
    } finally {
      paused.resume();
    }
  });

  it("slower than --warn: exit 1 WARNING", async () => {
    const r = await run("check", up.label, "--warn", "0.001");
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /slow \(/);
  });

  it("--tls verifies with the system CAs; --tls-ca FILE with the CA in FILE", async () => {
    const system = await run("check", secure.label, "--tls", "--timeout", "2000");
    assert.equal(system.code, 2, system.out);
    assert.match(system.out, /certificate/);
    const own = await run("check", secure.label, "--tls-ca", testPki().paths.ca, "--timeout", "2000");
    assert.equal(own.code, 0, own.out);
    assert.match(own.out, /^MEMCACHED OK - 1\/1 servers up/);
  });

  it("--tls-ca FILE of another CA: the server's certificate is not verified, exit 2 CRITICAL saying so", async () => {
    const r = await run("check", secure.label, "--tls", "--tls-ca", otherCa, "--timeout", "2000");
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, ONE_LINE);
    assert.match(r.out, /^MEMCACHED CRITICAL - 0\/1 servers up; .*certificate.*\| '127\.0\.0\.1:\d+'=U\n$/);
  });

  it("a TLS error with a newline in it (TLS to a plain server): still exactly one line", async () => {
    const r = await run("check", up.label, "--tls");
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, ONE_LINE);
    assert.match(r.out, /^MEMCACHED CRITICAL - 0\/1 servers up; .*\| '127\.0\.0\.1:\d+'=U\n$/);
  });
});

describe("memcachio stats", () => {
  it("no server given: the stats of 127.0.0.1:11211, as new Client() would ask", async () => {
    const running = await listening(11211);
    const r = await run("stats", "--timeout", "2000");
    assert.equal(r.code, running ? 0 : 2, r.out);
    const lines = r.out.trim().split("\n");
    assert.match(lines[0]!, /^stat\s+127\.0\.0\.1:11211$/);
    if (!running) assert.match(lines.at(-1)!, /^127\.0\.0\.1:11211 down: .*ECONNREFUSED/);
  });

  it("prints the stats of each server side by side; a down server's column says so", async () => {
    const r = await run("stats", up.label, closed, "--timeout", "2000");
    assert.equal(r.code, 1, r.out);
    const lines = r.out.trim().split("\n");
    assert.match(lines[0]!, new RegExp(`^stat\\s+${up.label}\\s+${closed}$`));
    const version = lines.find((l) => l.startsWith("version "));
    assert.match(version ?? "", /^version\s+1\.6\.\d+\s+\(down\)$/);
    assert.ok(
      lines.some((l) => /^curr_connections\s+\d+\s+\(down\)$/.test(l)),
      r.out,
    );
    assert.match(lines.at(-1)!, new RegExp(`^${closed} down: .*ECONNREFUSED`), "why it is down");
  });

  it("a group the server refuses: the server is up, the error is printed, exit 3 UNKNOWN", async () => {
    const r = await run("stats", up.label, "--group", "bogus");
    assert.equal(r.code, 3, r.out);
    assert.ok(!r.out.includes("(down)"), r.out);
    assert.match(r.out, new RegExp(`^${up.label} refused stats bogus: .*no such stats group`, "m"));
    const slabs = await run("stats", up.label, "--group", "slabs");
    assert.equal(slabs.code, 0, slabs.out);
    assert.match(slabs.out, /^active_slabs\s+\d+$/m);
  });

  it("--tls-ca FILE: a TLS server's stats, verified with its CA; with another CA's, down and why", async () => {
    const own = await run("stats", secure.label, "--tls-ca", testPki().paths.ca, "--timeout", "2000");
    assert.equal(own.code, 0, own.out);
    assert.match(own.out, /^version\s+1\.6\.\d+$/m);
    const other = await run("stats", secure.label, "--tls-ca", otherCa, "--timeout", "2000");
    assert.equal(other.code, 2, other.out);
    assert.match(other.out, /^\(no stats\)$/m);
    assert.match(other.out, new RegExp(`^${secure.label} down: .*certificate`, "m"));
  });

  it("a server that cannot be verified (--tls against a plain server) says why, on one line", async () => {
    const r = await run("stats", up.label, "--tls");
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, new RegExp(`^${up.label} down: TLS handshake .*wrong version number`, "m"));
    assert.equal(r.out.trim().split("\n").length, 3, r.out);
  });
});
