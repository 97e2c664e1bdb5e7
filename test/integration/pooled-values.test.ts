/**
 * Big values go out from reused memory (`protocol/pooled-bytes.ts`): what is stored is still the
 * value as it was when `set` was called — whatever the caller does with its Buffer after the call
 * resolved, rejected, timed out or was aborted, and whatever later calls write while the bytes of an
 * earlier one still wait in the socket — against a real memcached. A stopped server (SIGSTOP) keeps
 * them waiting: with the kernel's buffers full, they stay in the client's.
 */
import assert from "node:assert/strict";
import { setMaxListeners } from "node:events";
import { after, before, describe, it } from "node:test";
import { AbortError, Client, TimeoutError } from "../../src/index.ts";
import { pooledFreeBytes, sizeClass } from "../../src/protocol/pooled-bytes.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";

const MiB = 1024 * 1024;
/** Values of a burst: pooled, and several to a written batch. */
const SIZE = 100 * 1024;
/** Sets in a burst: more bytes than loopback's socket buffers hold. */
const BURST = 400;

describe("pooled big values against memcached", () => {
  let server: MemcachedServer;
  const clients: Client[] = [];
  const client = (timeout = 20_000) => {
    const mc = new Client({ servers: [server.label], timeout, maxValueSize: 2 * MiB });
    clients.push(mc);
    return mc;
  };
  before(async () => {
    server = await startMemcached({ args: ["-I", "2m"], memory: 512 });
  });
  after(async () => {
    server.resume();
    await Promise.all(clients.map((c) => c.close()));
    await server.kill();
  });

  // First: the pool is still nearly empty, below its bound, so what is given back is kept.
  it("a bigValues set gives its copy back once its chunks are stored; changing the Buffer changes nothing stored", async () => {
    const mc = new Client({ servers: [server.label], timeout: 20_000, bigValues: { threshold: 256 * 1024 } });
    clients.push(mc);
    await mc.version();
    const size = 3 * MiB + 12_345; // a size class no other test uses
    const before = pooledFreeBytes();
    const value = Buffer.alloc(size, 0x5a);
    const stored = mc.set("pv:chunked", value);
    value.fill(0xee);
    assert.equal(await stored, true);
    assert.equal(pooledFreeBytes(), before + sizeClass(size), "the copy's memory is back in the pool");
    const again = Buffer.alloc(size, 0x5b);
    assert.equal(await mc.set("pv:chunked:2", again), true);
    assert.ok(
      ((await mc.get("pv:chunked")) as Buffer).equals(Buffer.alloc(size, 0x5a)),
      "as it was at the call",
    );
    assert.ok(((await mc.get("pv:chunked:2")) as Buffer).equals(again));
  });

  it("a caller changing its Buffer after set resolved changes nothing stored, however the memory is reused", async () => {
    const mc = client();
    const value = Buffer.alloc(MiB, 0x11);
    assert.equal(await mc.set("pv:resolved", value), true);
    value.fill(0xee);
    // Sets of the same size reuse the memory of the first copy.
    for (let i = 0; i < 4; i++)
      assert.equal(await mc.set(`pv:other:${i}`, Buffer.alloc(MiB, 0x20 + i)), true);
    const got = (await mc.get("pv:resolved")) as Buffer;
    assert.ok(got.equals(Buffer.alloc(MiB, 0x11)), "the value as it was at the call");
    for (let i = 0; i < 4; i++) {
      assert.ok(((await mc.get(`pv:other:${i}`)) as Buffer).equals(Buffer.alloc(MiB, 0x20 + i)));
    }
  });

  /**
   * Sets of {@link SIZE} bytes sent in one burst to a stopped server, each ended (aborted or timed out)
   * while the server is stopped: the first ones reached the kernel, the next batch waits in the
   * client's socket, the rest were never written. Then their callers overwrite their Buffers, and
   * as many other calls copy values of the same size (reusing whatever memory was given back). Once the server
   * runs again, each key holds its own value or nothing — never bytes of another call.
   */
  async function endedWhileWaiting(end: "abort" | "timeout"): Promise<void> {
    const mc = client(end === "timeout" ? 300 : 20_000);
    await mc.version();
    await server.pause();
    const values = Array.from({ length: BURST }, (_, i) => Buffer.alloc(SIZE, 1 + (i % 200)));
    const abort = new AbortController();
    setMaxListeners(BURST, abort.signal);
    const calls = values.map((v, i) =>
      mc.set(`pv:${end}:${i}`, v, end === "abort" ? { signal: abort.signal } : undefined).then(
        () => "stored",
        (e: unknown) => e,
      ),
    );
    await new Promise((r) => setTimeout(r, end === "abort" ? 100 : 500));
    abort.abort();
    const outcomes = await Promise.all(calls);
    assert.ok(
      outcomes.every((o) => o instanceof (end === "abort" ? AbortError : TimeoutError)),
      "every call ended while the server was stopped",
    );
    for (const v of values) v.fill(0xee);
    const other = client();
    const later = Array.from({ length: BURST }, (_, i) =>
      other.set(`pv:${end}:later:${i}`, Buffer.alloc(SIZE, 0xfe)),
    );
    await new Promise((r) => setTimeout(r, 50));
    server.resume();
    assert.deepEqual(await Promise.all(later), new Array(BURST).fill(true));
    const reader = client();
    const got = (await reader.getMany(values.map((_, i) => `pv:${end}:${i}`))) as Map<string, Buffer>;
    for (let i = 0; i < BURST; i++) {
      const v = got.get(`pv:${end}:${i}`);
      assert.ok(
        v === undefined || v.equals(Buffer.alloc(SIZE, 1 + (i % 200))),
        `key ${i}: its own bytes or a miss`,
      );
    }
    // (A timed-out write is followed by a delete of its key, so only the aborted ones must have been stored.)
    if (end === "abort") assert.ok(got.size > 0, "some were written before the abort");
  }

  it("sets aborted while their bytes wait in the socket: each key holds its own bytes or nothing", async () => {
    await endedWhileWaiting("abort");
  });

  it("sets timed out while their bytes wait in the socket: each key holds its own bytes or nothing", async () => {
    await endedWhileWaiting("timeout");
  });

  it("big strings, ASCII and UTF-8, round-trip byte for byte", async () => {
    const mc = client();
    const ascii = "x".repeat(MiB - 10);
    const utf8 = "é€😀a".repeat(30_000);
    assert.equal(await mc.set("pv:ascii", ascii), true);
    assert.equal(await mc.set("pv:utf8", utf8), true);
    assert.equal(await mc.get("pv:ascii"), ascii);
    assert.equal(await mc.get("pv:utf8"), utf8);
  });

  it("copyBuffers: false writes the caller's memory as it is: handed over, not copied", async () => {
    const mc = new Client({
      servers: [server.label],
      timeout: 20_000,
      maxValueSize: 2 * MiB,
      copyBuffers: false,
    });
    clients.push(mc);
    await mc.version();
    const before = pooledFreeBytes();
    // Big, small and a Uint8Array, sent at once: each round-trips byte for byte.
    const values = [
      Buffer.alloc(MiB, 0x31),
      Buffer.alloc(100 * 1024, 0x32),
      Buffer.alloc(300, 0x33),
      new Uint8Array(50_000).fill(0x34),
    ];
    const answers = await Promise.all(values.map((v, i) => mc.set(`pv:handed:${i}`, v)));
    assert.deepEqual(answers, [true, true, true, true]);
    assert.equal(pooledFreeBytes(), before, "no copy was taken from the pool (reads below may take some)");
    for (const [i, v] of values.entries()) {
      const got = (await mc.get(`pv:handed:${i}`)) as Buffer;
      assert.ok(got.equals(v), `value ${i} as written`);
    }
    // Changed in the turn of the call, before the request goes out: the change is what is stored,
    // which a copy at the call would have left out.
    const value = Buffer.alloc(200 * 1024, 0x41);
    const stored = mc.set("pv:handed:changed", value);
    value.fill(0x42);
    assert.equal(await stored, true);
    assert.ok(((await mc.get("pv:handed:changed")) as Buffer).equals(Buffer.alloc(200 * 1024, 0x42)));
    assert.throws(
      () => new Client({ servers: [server.label], copyBuffers: "no" as unknown as boolean }),
      /copyBuffers must be true or false/,
    );
  });

  it("a big value read back is the reader's own: changing it changes no other read", async () => {
    const mc = client();
    assert.equal(await mc.set("pv:read", Buffer.alloc(MiB, 0x77)), true);
    const [a, b] = (await Promise.all([mc.get("pv:read"), mc.get("pv:read")])) as Buffer[];
    a!.fill(0);
    assert.ok(b!.equals(Buffer.alloc(MiB, 0x77)));
    assert.ok(((await mc.get("pv:read")) as Buffer).equals(Buffer.alloc(MiB, 0x77)));
  });
});
