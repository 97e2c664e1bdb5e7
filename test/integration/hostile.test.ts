/**
 * Replies a real memcached never sends: each gives a typed error, destroys the connection, fails
 * what was in flight on it, and the next request works on a fresh connection. Retries are off, so
 * the failures are visible; never is a caller given another request's value.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Client, ConnectionError, ProtocolError } from "../../src/index.ts";
import { FakeMemcached, type FakeRequest } from "../support/fake-server.ts";

let fake: FakeMemcached;
const clients: Client[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

function client(): Client {
  const c = new Client({ servers: [fake.label], timeout: 2000, retries: { attempts: 0 } });
  clients.push(c);
  return c;
}

/** Misbehaves on the first `mg` only, then answers normally. */
function once(act: (r: FakeRequest) => void): (r: FakeRequest) => boolean {
  let done = false;
  return (r) => {
    if (done || r.verb !== "mg") return false;
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
  fake = await new FakeMemcached().start();
  fake.values.set("k", "right");
  fake.values.set("other", "other-value");
});
afterEach(async () => {
  fake.misbehave = null;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
after(async () => {
  await fake.stop();
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, []);
});

describe("hostile server", () => {
  it("a reply for a request never made: the connection is dropped, the next request is fine", async () => {
    const mc = client();
    assert.equal(await mc.get("k"), "right");
    const before = fake.accepted;
    fake.misbehave = once((r) => r.socket.write(`VA 5 f0 ${r.opaque}\r\nright\r\nHD O424242\r\n`));
    assert.equal(await mc.get("k"), "right", "the real reply still counts");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await mc.get("other"), "other-value", "a fresh connection, never the stray reply");
    assert.equal(fake.accepted, before + 1, "the connection was replaced");
  });

  it("a reply with the wrong opaque: ProtocolError, never the value", async () => {
    const mc = client();
    await mc.ping();
    fake.misbehave = once((r) => r.socket.write("VA 11 f0 O999999\r\nother-value\r\n"));
    const err = await mc.get("k").then(
      () => assert.fail("should reject"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectionError && err.cause instanceof ProtocolError, String(err));
    assert.equal(await mc.get("k"), "right");
  });

  it("an endless line without CRLF fails once it passes the line limit", async () => {
    const mc = client();
    await mc.ping();
    fake.misbehave = once((r) => r.socket.write(`VA 5 ${"x".repeat(20_000)}`));
    await expectBroken(mc);
    assert.equal(await mc.get("k"), "right");
  });

  it("a reply trickled one byte at a time parses exactly", async () => {
    const mc = client();
    await mc.ping();
    fake.values.set("slow", "trickled-value");
    fake.misbehave = once((r) => {
      const bytes = Buffer.from(`VA 14 f0 ${r.opaque}\r\ntrickled-value\r\n`);
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
    fake.misbehave = once((r) => {
      r.socket.write(`VA 5 f0 ${r.opaque}\r\nri`);
      r.socket.end();
    });
    await expectBroken(mc);
    assert.equal(await mc.get("k"), "right");
  });

  it("a huge announced value fails fast against maxValueSize, nothing allocated for it", async () => {
    const mc = client();
    await mc.ping();
    fake.misbehave = once((r) => r.socket.write(`VA 4000000000 f0 ${r.opaque}\r\n`));
    const t0 = performance.now();
    await expectBroken(mc);
    assert.ok(performance.now() - t0 < 500);
    assert.equal(await mc.get("k"), "right");
  });
});
