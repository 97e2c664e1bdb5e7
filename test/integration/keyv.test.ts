/**
 * Keyv's own compliance suite (@keyv/test-suite) against the adapter on a real memcached, run by
 * Node's test runner through a small shim of the vitest-style `test` and `expect` it calls; with
 * Keyv 5 and Keyv 6 (the suite takes the Keyv class it tests; no suite of its own is published for 6).
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import keyvTestSuite from "@keyv/test-suite";
import Keyv5 from "keyv";
import Keyv6 from "keyv6";
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
/**
 * Tests of the suite (written for Keyv 5) whose expectation Keyv 6 itself changed, run as Keyv 6
 * states it: `delete([keys])` resolves to one boolean per key, with any store (its own Map as well).
 */
const CHANGED_IN_KEYV6: Record<string, () => Promise<void>> = {
  ".deleteMany([keys]) with nonexistent keys resolves to false": async () => {
    const keys = ["foo", "foo1", "foo2"];
    assert.deepEqual(await new Keyv6().delete(keys), [false, false, false]);
    assert.deepEqual(await new Keyv6({ store: new KeyvMemcachio(client) }).delete(keys), [
      false,
      false,
      false,
    ]);
  },
};

function shimFor(major: string) {
  return {
    it: (name: string, fn: (t: { expect: typeof expect }) => unknown) => {
      const changed = major === "Keyv 6" ? CHANGED_IN_KEYV6[name] : undefined;
      it(name, changed ?? withExpect(fn));
    },
    beforeEach: (fn: () => unknown) =>
      beforeEach(async () => {
        await fn();
      }),
    afterEach: (fn: () => unknown) =>
      afterEach(async () => {
        await fn();
      }),
  };
}

before(async () => {
  server = await startMemcached();
});
after(async () => {
  await server.kill();
});

// Both majors are driven through Keyv 5's typing: the calls made here are the same in both.
const MAJORS: [string, typeof Keyv5][] = [
  ["Keyv 5", Keyv5],
  ["Keyv 6", Keyv6 as unknown as typeof Keyv5],
];

forEachProtocol(() => {
  before(() => {
    client = new Client({ protocol: current.protocol, servers: [server.label], timeout: 2000 });
  });
  after(async () => {
    await client.close();
  });

  describe("KeyvMemcachio values", () => {
    it("a Buffer given to set or setMany is stored as it was at the call, whatever the caller does with it after", async () => {
      const store = new KeyvMemcachio(client);
      const one = Buffer.from("original one");
      const many = Buffer.from("original many");
      const stored = store.set("buf:one", one);
      const storedMany = store.setMany([{ key: "buf:many", value: many }]);
      one.fill(0x78); // the adapter reads the namespace's generation before it writes
      many.fill(0x78);
      assert.equal(await stored, true);
      assert.deepEqual(await storedMany, [true]);
      assert.deepEqual(await store.get("buf:one"), Buffer.from("original one"));
      assert.deepEqual(await store.get("buf:many"), Buffer.from("original many"));
    });
  });

  for (const [major, Keyv] of MAJORS) {
    describe(`@keyv/test-suite with ${major} against KeyvMemcachio on memcached`, () => {
      keyvTestSuite(shimFor(major) as never, Keyv as never, () => new KeyvMemcachio(client) as never);
    });

    describe(`KeyvMemcachio under ${major}`, () => {
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
  }
});
