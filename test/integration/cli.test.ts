/**
 * `memcachio check|stats` (src/cli.ts), run as a child process against real memcached servers: exit
 * codes 0/1/2/3 and the one-line status that monitors read.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { freePort, type MemcachedServer, startMemcached } from "../support/memcached.ts";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

let up: MemcachedServer;
let paused: MemcachedServer;
/** A loopback port nothing listens on. */
let closed: string;

before(async () => {
  [up, paused] = await Promise.all([startMemcached(), startMemcached()]);
  closed = `127.0.0.1:${await freePort()}`;
});
after(async () => {
  paused.resume();
  await Promise.all([up.kill(), paused.kill()]);
});

/** Runs the CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", CLI, ...args], { timeout: 20_000 }, (err, stdout) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, out: stdout });
    });
  });
}

describe("memcachio check", () => {
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
    const r = await run("check", `${up.label},${closed}`, "--timeout", "500");
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

  it("bad usage: exit 3 UNKNOWN with the usage line", async () => {
    for (const args of [
      ["bogus", up.label],
      ["check"],
      ["check", up.label, "--timeout", "0"],
      ["check", up.label, "--timeout", "-5"],
    ]) {
      const r = await run(...args);
      assert.equal(r.code, 3, `${args.join(" ")}: ${r.out}`);
      assert.match(r.out, /^UNKNOWN - .*\nusage: memcachio check\|stats/);
    }
  });
});

describe("memcachio stats", () => {
  it("prints the stats of each server side by side; a down server's column says so", async () => {
    const r = await run("stats", up.label, closed, "--timeout", "500");
    assert.equal(r.code, 1, r.out);
    const lines = r.out.trim().split("\n");
    assert.match(lines[0]!, new RegExp(`^stat\\s+${up.label}\\s+${closed}$`));
    const version = lines.find((l) => l.startsWith("version "));
    assert.match(version ?? "", /^version\s+1\.6\.\d+\s+\(down\)$/);
    assert.ok(
      lines.some((l) => /^curr_connections\s+\d+\s+\(down\)$/.test(l)),
      r.out,
    );
  });
});
