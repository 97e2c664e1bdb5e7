/**
 * `captureCallSite`: a rejected call's error names the caller's file and line. A failure found on a
 * socket event or a timer has no frames; with the option its stack ends with the caller's.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, it } from "node:test";
import {
  Client,
  ConnectionError,
  InvalidArgumentError,
  MemcachedError,
  TimeoutError,
} from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";

const THIS_FILE = "call-site.test.ts";

/**
 * A server of the test's own that resets every connection: a connection failure for sure (a port
 * where nothing listens could be taken by another test's memcached meanwhile).
 */
async function resettingServer(): Promise<{ label: string; close(): Promise<void> }> {
  const s = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  return { label: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => s.close(() => r())) };
}

let server: MemcachedServer;
before(async () => {
  server = await startMemcached();
});
after(async () => {
  await server.kill();
});

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.fail("the call resolved");
}

/** The line in this file of the call made by `storeFromHere`, read off a stack of its own. */
function lineOf(fn: string, stack: string): number | undefined {
  const frame = stack.split("\n").find((l) => l.includes(fn) && l.includes(THIS_FILE));
  const m = frame?.match(/call-site\.test\.ts:(\d+):\d+/);
  return m === undefined || m === null ? undefined : Number(m[1]);
}

function storeFromHere(mc: Client): Promise<unknown> {
  return mc.set("k", "v");
}

function readFromThere(mc: Client): Promise<unknown> {
  return mc.get("k");
}

it("without the option, a connection failure's stack has no frame of the caller", async () => {
  const dead = await resettingServer();
  const mc = new Client({ servers: [dead.label], retries: { attempts: 0 } });
  try {
    const err = await errorOf(storeFromHere(mc));
    assert.ok(err instanceof ConnectionError, String(err));
    assert.equal(lineOf("storeFromHere", err.stack ?? ""), undefined);
  } finally {
    await mc.close();
    await dead.close();
  }
});

/** A server of the test's own that accepts connections and never answers: every request times out. */
async function silentServer(): Promise<{ label: string; close(): Promise<void> }> {
  const sockets = new Set<import("node:net").Socket>();
  const s = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  const close = () => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((r) => s.close(() => r()));
  };
  return { label: `127.0.0.1:${port}`, close };
}

it("an error found on a socket event or past a deadline records no frames: its stack is its name and message", async () => {
  // Recording the library's event-handler frames told a caller nothing and cost more than the rest
  // of a failed request, thousands at once when a server dies.
  const dead = await resettingServer();
  const silent = await silentServer();
  const refused = new Client({ servers: [dead.label], retries: { attempts: 0 } });
  const late = new Client({ servers: [silent.label], retries: { attempts: 0 }, timeout: 50 });
  const limit = Error.stackTraceLimit;
  try {
    const err = await errorOf(storeFromHere(refused));
    assert.ok(err instanceof ConnectionError, String(err));
    assert.equal(err.stack, `ConnectionError: ${err.message}`);
    const timeout = await errorOf(readFromThere(late));
    assert.ok(timeout instanceof TimeoutError, String(timeout));
    assert.equal(timeout.stack, `TimeoutError: ${timeout.message}`);
    assert.equal(Error.stackTraceLimit, limit, "the process's limit is left as it was");
    // A caller's own mistake, thrown at the call, keeps the frames that name the caller.
    const bad = await errorOf(refused.set("k", "v", { ttl: -1 }));
    assert.ok(bad instanceof InvalidArgumentError);
    assert.match(bad.stack ?? "", new RegExp(THIS_FILE));
  } finally {
    await refused.close();
    await late.close();
    await dead.close();
    await silent.close();
  }
});

it("with captureCallSite, the error ends with the caller's file and line, and keeps its class and code", async () => {
  const dead = await resettingServer();
  const mc = new Client({
    servers: [dead.label],
    retries: { attempts: 0 },
    captureCallSite: true,
  });
  try {
    // Two calls failed by one broken connection: each error names its own caller, not the other's.
    const [a, b] = await Promise.all([errorOf(storeFromHere(mc)), errorOf(readFromThere(mc))]);
    for (const err of [a, b]) {
      assert.ok(err instanceof ConnectionError, String(err));
      assert.ok(err instanceof MemcachedError);
      assert.match(err.stack ?? "", /at the call \(captureCallSite\):/);
    }
    const source = (await import("node:fs")).readFileSync(new URL(import.meta.url), "utf8").split("\n");
    const line = lineOf("storeFromHere", a.stack ?? "");
    assert.ok(line !== undefined, a.stack);
    assert.match(source[line - 1]!, /return mc\.set\("k", "v"\);/);
    assert.equal(lineOf("readFromThere", a.stack ?? ""), undefined);
    assert.ok(lineOf("readFromThere", b.stack ?? "") !== undefined, b.stack);
    assert.equal((a as ConnectionError).code, new ConnectionError("x").code);
  } finally {
    await mc.close();
    await dead.close();
  }
});

it("with captureCallSite, invalid input and successful calls behave as without it", async () => {
  const mc = new Client({ servers: [server.label], captureCallSite: true });
  try {
    assert.equal(await mc.set("site-ok", "v"), true);
    assert.equal(await mc.get("site-ok"), "v");
    const err = await errorOf(mc.set("k", "v", { ttl: -1 }));
    assert.ok(err instanceof InvalidArgumentError);
    assert.match(err.stack ?? "", new RegExp(THIS_FILE));
  } finally {
    await mc.close();
  }
});

it("captureCallSite must be a boolean", () => {
  assert.throws(
    () => new Client({ captureCallSite: "yes" as unknown as boolean }),
    /captureCallSite must be true or false/,
  );
});
