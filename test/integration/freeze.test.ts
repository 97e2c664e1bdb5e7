/**
 * A client process frozen (SIGSTOP, as AWS Lambda freezes a sandbox between invocations) while
 * memcached closes its idle connections (`-o idle_timeout`), then thawed (SIGCONT) and at once
 * busy: nothing it sends may fail for a socket that died while it slept. Calls come from an I/O
 * callback (a line on stdin) and from a timer that came due during the freeze.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createConnection } from "node:net";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CHANNELS, Client } from "../../src/index.ts";
import { type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";

const CHILD = fileURLToPath(new URL("../support/freeze-child.ts", import.meta.url));
/** The shortest freeze: longer than memcached's idle timeout (2 s). */
const FREEZE_MS = 3000;

/** memcached's `stats` counters, read on a socket of our own. */
function stats(label: string): Promise<Map<string, string>> {
  const i = label.lastIndexOf(":");
  const s = createConnection({ host: label.slice(0, i), port: Number(label.slice(i + 1)) });
  return new Promise((resolve, reject) => {
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (!text.endsWith("END\r\n")) return;
      s.destroy();
      resolve(
        new Map(
          text
            .split("\r\n")
            .flatMap((l) => (l.startsWith("STAT ") ? [l.split(" ").slice(1, 3) as [string, string]] : [])),
        ),
      );
    });
    s.on("error", reject);
    s.write("stats\r\n");
  });
}

/** Waits until memcached's `idle_kicks` passes `before` (10 s at most). */
async function kicked(label: string, before: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (Number((await stats(label)).get("idle_kicks")) > before) return;
    await sleep(100);
  }
}

interface Round {
  round: number;
  calls: number;
  failed: number;
  errors: string[];
  firstMs: number;
  lastMs: number;
}

describe("a client process frozen and thawed", { timeout: 60_000 }, () => {
  let server: MemcachedServer;
  let child: ChildProcessWithoutNullStreams | null = null;
  before(async () => {
    server = await startMemcached({ args: ["-o", "idle_timeout=2"] });
  });
  after(async () => {
    if (child !== null && child.exitCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
    await server.kill();
  });

  it("sends every call of a burst right after the thaw: 0 failed of 60 (set, incr, get), three rounds", async (t) => {
    const proc = spawn(process.execPath, ["--import", "tsx", CHILD, server.label], { stdio: "pipe" });
    child = proc;
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => {
      const r = await lines.next();
      if (r.done === true) throw new Error(`the child exited: ${stderr}`);
      return r.value;
    };
    assert.equal(await next(), "ready");
    const rounds: Round[] = [];
    try {
      for (const trigger of ["stdin", "timer", "stdin"]) {
        const kicks = Number((await stats(server.label)).get("idle_kicks"));
        if (trigger === "timer") {
          proc.stdin.write("arm 200\n");
          assert.equal(await next(), "armed");
        }
        proc.kill("SIGSTOP");
        const frozenAt = performance.now();
        try {
          // Frozen until memcached has closed the child's idle connections (its idle check comes round
          // every second or so, and counts whole seconds), and at least FREEZE_MS.
          await kicked(server.label, kicks);
          await sleep(Math.max(200, FREEZE_MS - (performance.now() - frozenAt)));
        } finally {
          proc.kill("SIGCONT");
        }
        if (trigger === "stdin") proc.stdin.write("go\n");
        const round = JSON.parse(await next()) as Round;
        rounds.push(round);
        t.diagnostic(`${trigger}: ${JSON.stringify(round)}`);
        assert.deepEqual(
          [round.calls, round.failed, round.errors],
          [60, 0, []],
          `round ${round.round} (${trigger})`,
        );
      }
    } finally {
      proc.stdin.write("exit\n");
    }
    assert.equal(rounds.length, 3);
  });
});

describe("idle connections", { timeout: 30_000 }, () => {
  let server: MemcachedServer;
  const clients: Client[] = [];
  before(async () => {
    server = await startMemcached({ args: ["-o", "idle_timeout=1"] });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.kill();
  });

  /** Connections the client opened, counted from its diagnostics channel. */
  function countOpens(): { readonly n: number; stop(): void } {
    const counter = { n: 0, stop: () => unsubscribe(CHANNELS.connectionOpen, onOpen) };
    const onOpen = (m: unknown) => {
      if ((m as { server: string }).server === server.label) counter.n++;
    };
    subscribe(CHANNELS.connectionOpen, onOpen);
    return counter;
  }

  it("a server closing an idle connection (its idle timeout) is no failure, and the next incr goes out on a new one", async () => {
    const mc = new Client({ servers: [server.label], failover: { failureThreshold: 1 } });
    clients.push(mc);
    const downs: unknown[] = [];
    mc.on("serverDown", (e) => downs.push(e));
    assert.equal(await mc.set("idle:n", "1"), true);
    const kicks = Number((await stats(server.label)).get("idle_kicks"));
    await waitFor(async () => Number((await stats(server.label)).get("idle_kicks")) > kicks, 5000);
    await sleep(50); // the FIN reaches the client
    assert.deepEqual(
      mc.health().servers.map((s) => [s.state, s.failures]),
      [["up", 0]],
    );
    assert.equal(await mc.incr("idle:n", 1), 2n);
    assert.deepEqual(downs, []);
  });

  it("pool.reconnectIdleMillis: a connection idle longer gets a new socket before its next request", async () => {
    const opens = countOpens();
    try {
      const mc = new Client({ servers: [server.label], pool: { min: 1, max: 1, reconnectIdleMillis: 300 } });
      clients.push(mc);
      assert.equal(await mc.set("idle:r", "1"), true);
      assert.equal(await mc.get("idle:r"), "1");
      assert.equal(opens.n, 1, "one connection while busy");
      await sleep(450);
      assert.equal(await mc.incr("idle:c", 1, { initial: 1 }), 1n);
      assert.equal(opens.n, 2, "a new socket after 450 ms idle");
    } finally {
      opens.stop();
    }
  });
});
