/**
 * Call arguments as a JavaScript user coming from another client writes them: a TTL where the
 * options go (`set(k, v, 60)`, memcached and memcache), memjs's `{ expires }`, misspelt option
 * names and callbacks. Each is an `InvalidArgumentError` that says what to write, and nothing is
 * stored; the right form stores with its TTL.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Client, InvalidArgumentError } from "../../src/index.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { remainingTtl } from "../support/raw.ts";

let server: MemcachedServer;
let mc: Client;
before(async () => {
  server = await startMemcached();
  mc = new Client({ servers: [server.label] });
});
after(async () => {
  await mc.close();
  await server.kill();
});

/** Calls made as untyped JavaScript. */
function js(client: Client): Record<string, (...args: unknown[]) => Promise<unknown>> {
  return client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
}

async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.ok(err instanceof InvalidArgumentError, `${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("a TTL written as other clients take it", () => {
  it("set(k, v, 60) rejects, names { ttl: 60 } and stores nothing", async () => {
    await rejectsWith(
      js(mc).set!("ttl-number", "v", 60),
      /set: its third argument is an options object, got the number 60\. Write set\(key, value, \{ ttl: 60 \}\)/,
    );
    assert.equal(await mc.get("ttl-number"), undefined);
  });

  it("set(k, v, { expires: 60 }) rejects with Did you mean ttl, and stores nothing", async () => {
    await rejectsWith(
      js(mc).set!("ttl-expires", "v", { expires: 60 }),
      /set: unknown option "expires"\. Did you mean "ttl"\?/,
    );
    assert.equal(await mc.get("ttl-expires"), undefined);
  });

  it("every storage command and counter refuses a bare number where the options go", async () => {
    await rejectsWith(js(mc).add!("k", "v", 60), /add\(key, value, \{ ttl: 60 \}\)/);
    await rejectsWith(js(mc).replace!("k", "v", 60), /replace\(key, value, \{ ttl: 60 \}\)/);
    await rejectsWith(
      js(mc).cas!("k", "v", 1n, 60),
      /its fourth argument.*cas\(key, value, token, \{ ttl: 60 \}\)/,
    );
    await rejectsWith(js(mc).incr!("k", 1, 60), /incr: its third argument/);
    await rejectsWith(js(mc).setMany!([["k", "v"]], 60), /setMany\(entries, \{ ttl: 60 \}\)/);
    await rejectsWith(
      js(mc).fetch!("k", () => "v", 60),
      /fetch\(key, loader, \{ ttl: 60 \}\)/,
    );
    await rejectsWith(js(mc).set!("k", "v", "60"), /got the string 60/);
  });

  it("set(k, v, { ttl: 60 }) stores with that TTL", async () => {
    assert.equal(await mc.set("ttl-right", "v", { ttl: 60 }), true);
    const left = await remainingTtl(server.label, "ttl-right");
    assert.ok(left > 0 && left <= 60, `remaining TTL ${left}`);
  });
});

describe("option names and callbacks", () => {
  it("a misspelt call option is refused with the right name", async () => {
    await rejectsWith(
      js(mc).get!("k", { timeot: 5 }),
      /get: unknown option "timeot"\. Did you mean "timeout"\?/,
    );
    await rejectsWith(js(mc).delete!("k", { hashkey: "h" }), /Did you mean "hashKey"\?/);
    await rejectsWith(js(mc).flush!({ dealy: 5 }), /flush: unknown option "dealy"\. Did you mean "delay"\?/);
  });

  it("an option another command takes is refused where it means nothing, listing the right ones", async () => {
    await rejectsWith(
      js(mc).get!("k", { ttl: 60 }),
      /get: unknown option "ttl"\. The options of get are timeout, signal, hashKey/,
    );
    await rejectsWith(js(mc).append!("k", "v", { ttl: 60 }), /append: unknown option "ttl"/);
  });

  it("a callback where the options go says to await the promise", async () => {
    await rejectsWith(
      js(mc).get!("k", () => {}),
      /got a function\. memcachio takes no callbacks: await the promise/,
    );
    await rejectsWith(
      js(mc).ping!(() => {}),
      /ping: its first argument is an options object, got a function/,
    );
  });

  it("null where the options go is refused, not a TypeError from inside", async () => {
    await rejectsWith(js(mc).get!("k", null), /got null: leave it out/);
    await rejectsWith(js(mc).stats!("", null), /stats: .* got null/);
  });

  it("a local cache does not answer before the options are checked", async () => {
    const local = new Client({ servers: [server.label], localCache: { max: 10, ttl: 1000 } });
    try {
      await local.set("local-k", "v");
      assert.equal(await local.get("local-k"), "v");
      await rejectsWith(js(local).get!("local-k", { timeot: 5 }), /Did you mean "timeout"/);
      await rejectsWith(js(local).getMany!(["local-k"], 5), /getMany: its second argument/);
    } finally {
      await local.close();
    }
  });

  it("valid options of every kind still work (the check refuses nothing it should take)", async () => {
    const signal = new AbortController().signal;
    assert.equal(await mc.set("ok", "1", { ttl: 60, timeout: 500, signal, hashKey: "h" }), true);
    assert.equal(await mc.get("ok", { timeout: 500, signal, hashKey: "h" }), "1");
    assert.equal(await mc.incr("ok-n", 1, { initial: 5, ttl: 60, timeout: 500 }), 5n);
    assert.equal(
      await mc.fetch("ok-f", () => "x", { ttl: 60, lockTtl: 5, recacheWithin: 2, staleTtl: 3 }),
      "x",
    );
    assert.equal(await mc.invalidate("ok-f", { staleTtl: 10 }), true);
    await mc.flush({ delay: 0, timeout: 500 });
  });
});

describe("an explicit undefined is the same as leaving the option out", () => {
  it("a client whose every option is undefined (but its server) uses the defaults", async () => {
    const names = [
      "dns",
      "discovery",
      "warmUp",
      "protocol",
      "proxy",
      "tls",
      "auth",
      "hedge",
      "timeout",
      "connectTimeout",
      "socketTimeout",
      "maxInFlight",
      "maxQueue",
      "maxValueSize",
      "keyPrefix",
      "codec",
      "compression",
      "gutter",
      "failOpen",
      "replicas",
      "keepAlive",
      "allowExitOnIdle",
      "traceKeys",
      "captureCallSite",
      "localCache",
    ];
    const options: Record<string, unknown> = Object.fromEntries(names.map((n) => [n, undefined]));
    options.pool = { min: undefined, max: undefined, idleTimeoutMillis: undefined };
    options.failover = { failureThreshold: undefined, retryDelay: undefined, eject: undefined };
    options.retries = { attempts: undefined, baseDelay: undefined, maxDelay: undefined };
    const client = new Client({ ...options, servers: [server.label] });
    try {
      assert.equal(await client.set("undef", "v", { ttl: undefined, timeout: undefined }), true);
      assert.equal(
        await client.get("undef", { timeout: undefined, signal: undefined, hashKey: undefined }),
        "v",
      );
      assert.equal(await client.incr("undef-n", 2, { initial: undefined, ttl: undefined }), undefined);
      assert.equal(await client.fetch("undef-f", () => 1, { ttl: undefined, lockTtl: undefined }), 1);
      assert.equal(client.health().servers[0]!.queueLimit, 10_000);
    } finally {
      await client.close();
    }
  });
});
