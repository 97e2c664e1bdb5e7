/**
 * Keyv's own compliance suite (@keyv/test-suite) against the adapter on a real memcached, run by
 * Node's test runner through a small shim of the vitest-style `test` and `expect` it calls.
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import keyvTestSuite from "@keyv/test-suite";
import Keyv from "keyv";
import { Client } from "../../src/index.ts";
import { KeyvMemcachio } from "../../src/keyv.ts";
import { type MemcachedServer, startMemcached } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

// Keyv's iterator tests are not run: memcached cannot list keys, so the adapter has no iterator.

let server: MemcachedServer;
let client: Client;

function expect(actual: unknown) {
  const m = {
    toBe: (v: unknown) => assert.ok(Object.is(actual, v), `expected ${String(actual)} to be ${String(v)}`),
    toEqual: (v: unknown) =>
      assert.ok(
        isDeepStrictEqual(actual, v),
        `expected ${JSON.stringify(actual)} to equal ${JSON.stringify(v)}`,
      ),
    toBeTruthy: () => assert.ok(actual),
    toBeFalsy: () => assert.ok(!actual),
    toBeUndefined: () => assert.equal(actual, undefined),
    toBeDefined: () => assert.notEqual(actual, undefined),
    toBeNull: () => assert.equal(actual, null),
  };
  return {
    ...m,
    not: {
      toBe: (v: unknown) =>
        assert.ok(!Object.is(actual, v), `expected ${String(actual)} not to be ${String(v)}`),
    },
  };
}
const withExpect = (fn: (t: { expect: typeof expect }) => unknown) => async (): Promise<void> => {
  await fn({ expect });
};
const shim = {
  it: (name: string, fn: (t: { expect: typeof expect }) => unknown) => it(name, withExpect(fn)),
  beforeEach: (fn: () => unknown) =>
    beforeEach(async () => {
      await fn();
    }),
  afterEach: (fn: () => unknown) =>
    afterEach(async () => {
      await fn();
    }),
};

before(async () => {
  server = await startMemcached();
});
after(async () => {
  await server.kill();
});

forEachProtocol(() => {
  before(() => {
    client = new Client({ protocol: current.protocol, servers: [server.label], timeout: 2000 });
  });
  after(async () => {
    await client.close();
  });

  describe("@keyv/test-suite against KeyvMemcachio on memcached", () => {
    keyvTestSuite(shim as never, Keyv as never, () => new KeyvMemcachio(client) as never);
  });

  describe("KeyvMemcachio", () => {
    it("clear() empties one namespace, not the others, without flush_all", async () => {
      const a = new Keyv({ store: new KeyvMemcachio(client), namespace: "a" });
      const b = new Keyv({ store: new KeyvMemcachio(client), namespace: "b" });
      await client.set("outside", "kept");
      await a.set("k", "from-a");
      await b.set("k", "from-b");
      await a.clear();
      assert.equal(await a.get("k"), undefined);
      assert.equal(await b.get("k"), "from-b");
      assert.equal(await client.get("outside"), "kept");
      const flushes = Number((await client.stats())[server.label]?.cmd_flush);
      assert.equal(flushes, 0, "no flush_all was sent");
    });

    it("a clear by another process is seen at once", async () => {
      const mine = new Keyv({ store: new KeyvMemcachio(client), namespace: "shared" });
      const theirs = new Keyv({ store: new KeyvMemcachio(client), namespace: "shared" });
      await mine.set("k", "v");
      assert.equal(await theirs.get("k"), "v");
      await theirs.clear();
      assert.equal(await mine.get("k"), undefined);
      await mine.set("k", "v2");
      assert.equal(await theirs.get("k"), "v2");
    });
  });
});
