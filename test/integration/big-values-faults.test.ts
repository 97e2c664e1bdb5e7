/**
 * `bigValues` under failures and races, and every command on each protocol: a read returns a whole
 * value or a miss, never a mix.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { ValueTooLargeError } from "../../src/index.ts";
import { bigValueServers, MiB } from "../support/big-values-harness.ts";
import { forEachProtocol } from "../support/protocols.ts";

const fleet = bigValueServers();
const { client, flushAll, key } = fleet;

describe("bigValues: failures and races", () => {
  it("replicas 2 over 3 servers, one killed mid-way: every read is a whole value or a miss", async (t: TestContext) => {
    await flushAll();
    const mc = client({
      servers: fleet.labels(),
      replicas: 2,
      timeout: 5000,
      failover: { failureThreshold: 1, retryDelay: 60_000 },
    });
    const values = [randomBytes(8 * MiB), randomBytes(8 * MiB)];
    const k = key("kill");
    assert.equal(await mc.set(k, values[0]), true);
    const seen = { whole: 0, miss: 0, failed: 0, writesFailed: 0 };
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        try {
          const got = (await mc.get(k)) as Buffer | undefined;
          if (got === undefined) seen.miss++;
          else {
            assert.ok(got.equals(values[0]!) || got.equals(values[1]!), "one of the values, whole");
            seen.whole++;
          }
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          seen.failed++;
        }
      }
    })();
    const victim = fleet.servers()[1]!;
    try {
      for (let i = 1; i <= 6; i++) {
        const writing = mc.set(k, values[i % 2]!).catch(() => {
          seen.writesFailed++;
          return false;
        });
        if (i === 3) await victim.kill();
        await writing;
      }
      // A write acknowledged after the kill is what reads return.
      assert.equal(await mc.set(k, values[1]), true);
      assert.ok(((await mc.get(k)) as Buffer).equals(values[1]!));
    } finally {
      stop = true;
      await reader.finally(() => victim.restore());
    }
    t.diagnostic(JSON.stringify(seen));
    assert.ok(seen.whole > 0, "reads went on during the writes and the kill");
  });

  it("two writers racing on one key with different 5 MiB values: every read is one of them whole, or a miss", async () => {
    await flushAll();
    const mc = client({ servers: fleet.labels() });
    const other = client({ servers: fleet.labels() });
    const a = randomBytes(5 * MiB);
    const b = randomBytes(5 * MiB);
    const k = key("race");
    const seen = { a: 0, b: 0, miss: 0 };
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        const got = (await mc.get(k)) as Buffer | undefined;
        if (got === undefined) seen.miss++;
        else if (got.equals(a)) seen.a++;
        else if (got.equals(b)) seen.b++;
        else assert.fail("a mixed value");
      }
    })();
    try {
      await Promise.all([
        (async () => {
          for (let i = 0; i < 6; i++) await mc.set(k, a);
        })(),
        (async () => {
          for (let i = 0; i < 6; i++) await other.set(k, b);
        })(),
      ]);
    } finally {
      stop = true;
      await reader;
    }
    const last = (await mc.get(k)) as Buffer;
    assert.ok(last.equals(a) || last.equals(b), "after the race: one of them, whole");
    assert.ok(seen.a + seen.b > 0, "reads saw the values while they were written");
  });
});

forEachProtocol((protocol) => {
  describe("bigValues: every command", () => {
    it(`${protocol}: get, gets, getAndTouch, getMany, set, add, replace, cas, setMany, delete, touch`, async () => {
      await flushAll();
      const mc = client({ servers: fleet.labels(), bigValues: { threshold: 256 * 1024 } });
      const value = randomBytes(2 * MiB);
      const other = randomBytes(MiB + 5);
      const k = key(protocol);
      assert.equal(await mc.add(k, value), true);
      assert.equal(await mc.add(k, other), false, "add: the index exists");
      assert.ok(((await mc.getAndTouch(k, 60)) as Buffer).equals(value));
      const g = await mc.gets<Buffer>(k);
      assert.ok(g?.value.equals(value));
      assert.equal(g!.flags, 1, "the value's flags, without the index's bit");
      assert.equal(await mc.replace(k, other), true);
      assert.equal(await mc.cas(k, value, g!.cas), false, "the index changed since gets");
      const g2 = await mc.gets<Buffer>(k);
      assert.ok(g2?.value.equals(other));
      assert.equal(await mc.cas(k, value, g2!.cas), true);
      assert.ok(((await mc.get(k)) as Buffer).equals(value));
      assert.deepEqual(
        await mc.setMany([
          [`${k}:a`, "small"],
          [`${k}:b`, other],
          [`${k}:c`, value],
        ]),
        [true, true, true],
      );
      const many = await mc.getMany([`${k}:a`, `${k}:b`, `${k}:c`]);
      assert.equal(many.get(`${k}:a`), "small");
      assert.ok((many.get(`${k}:b`) as Buffer).equals(other));
      assert.ok((many.get(`${k}:c`) as Buffer).equals(value));
      assert.equal(await mc.touch(k, 100), true);
      assert.equal(await mc.delete(k), true);
      assert.equal(await mc.get(k), undefined);
      const append = await mc.append(`${k}:a`, randomBytes(300 * 1024)).catch((e: unknown) => e);
      assert.ok(append instanceof ValueTooLargeError, "append data over the threshold cannot be split");
    });
  });
});
