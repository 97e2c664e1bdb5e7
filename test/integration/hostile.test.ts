/**
 * Replies a real memcached never sends: each gives a typed error, destroys the connection, fails
 * what was in flight on it, and the next request works on a fresh connection. Retries are off, so
 * the failures are visible; never is a caller given another request's value. Run for both
 * protocols, each against a fake server speaking it.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Client, ConnectionError, ProtocolError } from "../../src/index.ts";
import { writeOpaqueToken } from "../../src/protocol/meta/opaque-token.ts";
import { binaryResponse, FakeMemcached, type FakeRequest } from "../support/fake-server.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

const fakes = {
  meta: new FakeMemcached("meta"),
  binary: new FakeMemcached("binary"),
  text: new FakeMemcached("text"),
};
const clients: Client[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

/** The fake of the protocol under test. */
const fake = () => fakes[current.protocol];

function client(): Client {
  const c = new Client({
    protocol: current.protocol,
    servers: [fake().label],
    timeout: 2000,
    retries: { attempts: 0 },
  });
  clients.push(c);
  return c;
}

/** Replies in the protocol under test, for a request `r` of the fake. */
const wire = {
  /** The right answer to a get of `value`. */
  hit(r: FakeRequest, value: string): Buffer {
    if (current.protocol === "text")
      return Buffer.from(`VALUE ${r.key} 0 ${value.length}\r\n${value}\r\nEND\r\n`);
    return current.protocol === "meta"
      ? Buffer.from(`VA ${value.length} f0 ${r.opaque}\r\n${value}\r\n`)
      : binaryResponse(0, Number(r.opaque), { flags: 0, value });
  },
  /** A well-formed reply carrying an opaque no request has (a stray or foreign reply). */
  foreign(value: string | null, opaque: number): Buffer {
    // Text has no opaque: a foreign reply is one no request asked for, or the value of another key.
    if (current.protocol === "text")
      return Buffer.from(
        value === null ? "STORED\r\n" : `VALUE other 0 ${value.length}\r\n${value}\r\nEND\r\n`,
      );
    if (current.protocol === "meta") {
      // The opaque as the client writes its own: well formed, of no request.
      const token = Buffer.alloc(4);
      writeOpaqueToken(token, 0, opaque);
      const o = token.toString("latin1");
      return Buffer.from(value === null ? `HD O${o}\r\n` : `VA ${value.length} f0 O${o}\r\n${value}\r\n`);
    }
    return value === null ? binaryResponse(0x0a, opaque) : binaryResponse(0, opaque, { flags: 0, value });
  },
  /** Bytes that are no reply at all: an endless line (meta), a bad magic byte (binary). */
  garbage(): Buffer {
    if (current.protocol === "text") return Buffer.from(`VALUE k 0 5 ${"x".repeat(20_000)}`);
    return current.protocol === "meta" ? Buffer.from(`VA 5 ${"x".repeat(20_000)}`) : Buffer.alloc(64, 0x41);
  },
  /** The start of a reply announcing a `size`-byte value, with `sent` bytes of it. */
  valueStart(r: FakeRequest, size: number, sent: string): Buffer {
    if (current.protocol === "text") return Buffer.from(`VALUE ${r.key} 0 ${size}\r\n${sent}`);
    if (current.protocol === "meta") return Buffer.from(`VA ${size} f0 ${r.opaque}\r\n${sent}`);
    return Buffer.concat([
      binaryResponse(0, Number(r.opaque), { flags: 0, bodyLength: 4 + size }),
      Buffer.from(sent),
    ]);
  },
};

/** Misbehaves on the first get only, then answers normally. */
function once(act: (r: FakeRequest) => void): (r: FakeRequest) => boolean {
  let done = false;
  return (r) => {
    if (done || (r.verb !== "mg" && r.verb !== "get")) return false;
    done = true;
    act(r);
    return true;
  };
}

async function expectBroken(mc: Client, key = "k"): Promise<void> {
  const err = await mc.get(key).then(
    () => assert.fail("should reject"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectionError, String(err));
}

before(async () => {
  process.on("unhandledRejection", onUnhandled);
  for (const f of Object.values(fakes)) {
    await f.start();
    f.values.set("k", "right");
    f.values.set("other", "other-value");
  }
});
afterEach(async () => {
  for (const f of Object.values(fakes)) f.misbehave = null;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
after(async () => {
  for (const f of Object.values(fakes)) await f.stop();
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, []);
});

forEachProtocol((protocol) => {
  describe("hostile server", () => {
    it("a reply for a request never made: the connection is dropped, the next request is fine", async () => {
      const mc = client();
      assert.equal(await mc.get("k"), "right");
      const before = fake().accepted;
      fake().misbehave = once((r) =>
        r.socket.write(Buffer.concat([wire.hit(r, "right"), wire.foreign(null, 424242)])),
      );
      assert.equal(await mc.get("k"), "right", "the real reply still counts");
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(await mc.get("other"), "other-value", "a fresh connection, never the stray reply");
      assert.equal(fake().accepted, before + 1, "the connection was replaced");
    });

    it("a reply with the wrong opaque: ProtocolError, never the value", async () => {
      const mc = client();
      await mc.ping();
      fake().misbehave = once((r) => r.socket.write(wire.foreign("other-value", 999999)));
      const err = await mc.get("k").then(
        () => assert.fail("should reject"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectionError && err.cause instanceof ProtocolError, String(err));
      assert.equal(await mc.get("k"), "right");
    });

    // Meta only: binary replies always carry the opaque, text ones never do.
    if (protocol === "meta")
      it("a miss without the request's opaque (a bare EN) is never taken as its answer", async () => {
        const mc = client();
        assert.equal(await mc.get("k"), "right");
        fake().misbehave = once((r) => r.socket.write("EN\r\n"));
        await expectBroken(mc);
        assert.equal(await mc.get("k"), "right", "a fresh connection answers");
      });

    // Text only: meta and binary pair by opaque (the tests above).
    if (protocol === "text")
      it("text: a second VALUE for one key, or a getMany hit of a key not asked, breaks the connection; any order is fine", async () => {
        const mc = client();
        assert.equal(await mc.get("k"), "right");
        let before = fake().accepted;
        fake().misbehave = once((r) => r.socket.write(`${fake().textHits(["k", "k"])}`));
        assert.equal(await mc.get("k"), "right", "the first VALUE answers");
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(await mc.get("other"), "other-value");
        assert.equal(fake().accepted, before + 1, "the extra VALUE dropped the connection");
        // twemproxy answers a getMany out of order when some keys miss: accepted, each key once.
        fake().misbehave = once((r) => r.socket.write(fake().textHits(r.line.split(" ").slice(1).reverse())));
        const all = new Map([
          ["k", "right"],
          ["other", "other-value"],
        ]);
        assert.deepEqual(await mc.getMany(["k", "nope", "other"]), all);
        before = fake().accepted;
        fake().misbehave = once((r) => r.socket.write(fake().textHits(["other", "other"])));
        const err = await mc.getMany(["k", "other"]).then(
          () => assert.fail("should reject"),
          (e: unknown) => e,
        );
        assert.ok(err instanceof ConnectionError && err.cause instanceof ProtocolError, String(err));
        assert.deepEqual(await mc.getMany(["k", "other"]), all);
        assert.equal(fake().accepted, before + 1, "a key answered twice dropped the connection");
        before = fake().accepted;
        fake().values.set("stranger", "not-asked");
        fake().misbehave = once((r) => r.socket.write(fake().textHits(["stranger", "k"])));
        const stranger = await mc.getMany(["k", "other"]).then(
          () => assert.fail("should reject"),
          (e: unknown) => e,
        );
        assert.ok(
          stranger instanceof ConnectionError && stranger.cause instanceof ProtocolError,
          String(stranger),
        );
        assert.deepEqual(await mc.getMany(["k", "other"]), all);
        assert.equal(fake().accepted, before + 1, "a key not asked dropped the connection");
      });

    it("bytes that are no reply (an endless line; a bad magic byte) fail the connection", async () => {
      const mc = client();
      await mc.ping();
      fake().misbehave = once((r) => r.socket.write(wire.garbage()));
      await expectBroken(mc);
      assert.equal(await mc.get("k"), "right");
    });

    it("a reply trickled one byte at a time parses exactly", async () => {
      const mc = client();
      await mc.ping();
      fake().values.set("slow", "trickled-value");
      fake().misbehave = once((r) => {
        const bytes = wire.hit(r, "trickled-value");
        let i = 0;
        const drip = setInterval(() => {
          if (i >= bytes.length) clearInterval(drip);
          else r.socket.write(bytes.subarray(i, ++i));
        }, 1);
      });
      assert.equal(await mc.get("slow"), "trickled-value");
    });

    it("a connection closed mid-value fails what was in flight; the next request is fine", async () => {
      const mc = client();
      await mc.ping();
      fake().misbehave = once((r) => {
        r.socket.write(wire.valueStart(r, 5, "ri"));
        r.socket.end();
      });
      await expectBroken(mc);
      assert.equal(await mc.get("k"), "right");
    });

    it("a huge announced value fails fast against maxValueSize, nothing allocated for it", async () => {
      const mc = client();
      await mc.ping();
      fake().misbehave = once((r) => r.socket.write(wire.valueStart(r, 4_000_000_000, "")));
      const err = await mc.get("k").then(
        () => assert.fail("should reject"),
        (e: unknown) => e,
      );
      // Refused from the header (ProtocolError), not after waiting for data that never comes.
      assert.ok(err instanceof ConnectionError && err.cause instanceof ProtocolError, String(err));
      assert.match(String(err.cause), /maxValueSize/);
      assert.equal(await mc.get("k"), "right");
    });
  });
});
