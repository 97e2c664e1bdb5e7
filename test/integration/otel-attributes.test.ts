/**
 * What `memcachio/otel` records of each command against real memcached: span names and kinds, the
 * stable database attributes (keys only when asked), errors, addresses of every kind, and the
 * `db.client.operation.duration` histogram.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { freePort, startMemcached } from "../support/memcached.ts";
import {
  client,
  durationPoints,
  exporter,
  instrumentation,
  memcachedSpans,
  meterReader,
  only,
  otelSuite,
} from "../support/otel-harness.ts";
import { forEachProtocol } from "../support/protocols.ts";

const suite = otelSuite();

forEachProtocol(() => {
  describe("memcachio/otel spans", () => {
    it("a command is a CLIENT span named `{operation} {host}:{port}` with the stable database attributes, keys left out", async () => {
      const mc = client({ traceKeys: true });
      await mc.set("o:1", "s3cret-value");
      await mc.get("o:1");
      await mc.get("o:none");
      const base = {
        "db.system.name": "memcached",
        "server.address": "127.0.0.1",
        "server.port": suite.server.port,
      };
      const set = only(`set ${suite.server.label}`);
      assert.equal(set.kind, SpanKind.CLIENT);
      assert.deepEqual(set.attributes, { ...base, "db.operation.name": "set" });
      assert.equal(set.status.code, SpanStatusCode.UNSET);
      const gets = memcachedSpans().filter((s) => s.name === `get ${suite.server.label}`);
      assert.deepEqual(
        gets.map((s) => s.attributes),
        [
          { ...base, "db.operation.name": "get", "memcached.hit": true },
          { ...base, "db.operation.name": "get", "memcached.hit": false },
        ],
      );
      assert.doesNotMatch(
        JSON.stringify(memcachedSpans().map((s) => [s.attributes, s.events])),
        /s3cret|o:1/,
      );
    });

    it("getMany / setMany of N keys: `BATCH get` / `BATCH set` with db.operation.batch.size = N; one key is a plain get", async () => {
      const mc = client();
      await mc.setMany([
        ["b:1", 1],
        ["b:2", 2],
        ["b:3", 3],
      ]);
      await mc.getMany(["b:1", "b:2", "b:3", "b:4", "b:5"]);
      await mc.getMany(["b:1"]);
      const setMany = only(`BATCH set ${suite.server.label}`);
      assert.equal(setMany.attributes["db.operation.name"], "BATCH set");
      assert.equal(setMany.attributes["db.operation.batch.size"], 3);
      const getMany = only(`BATCH get ${suite.server.label}`);
      assert.equal(getMany.attributes["db.operation.batch.size"], 5);
      assert.equal(getMany.attributes["memcached.hit_count"], 3);
      const one = only(`get ${suite.server.label}`);
      assert.equal(one.attributes["db.operation.batch.size"], undefined);
      assert.equal(one.attributes["memcached.hit"], true);
    });
  });
});

describe("memcachio/otel: attributes", () => {
  it("keys go into db.query.text only with captureKeys (and the client's traceKeys)", async () => {
    const mc = client({ traceKeys: true });
    await mc.get("k:default");
    assert.equal(only(`get ${suite.server.label}`).attributes["db.query.text"], undefined);
    exporter.reset();
    instrumentation.setConfig({ captureKeys: true });
    await mc.get("k:asked");
    await mc.getMany(["k:a", "k:b"]);
    assert.equal(only(`get ${suite.server.label}`).attributes["db.query.text"], "get k:asked");
    assert.equal(only(`BATCH get ${suite.server.label}`).attributes["db.query.text"], "get k:a; get k:b");
    exporter.reset();
    await client({ traceKeys: false }).get("k:untraced");
    assert.equal(only(`get ${suite.server.label}`).attributes["db.query.text"], undefined);
  });

  it("a timeout: status ERROR with the message, error.type = MC_ERR_TIMEOUT, the exception recorded", async () => {
    const paused = await startMemcached();
    try {
      // The deadline is what is tested: the connection is made first, under a generous one.
      const mc = client({ servers: [paused.label], timeout: 100, retries: { attempts: 0 } });
      await mc.get("warm", { timeout: 5000 });
      exporter.reset();
      await paused.pause();
      const err = await mc.get("e:1").then(
        () => assert.fail("the get should time out"),
        (e: Error) => e,
      );
      const span = only(`get ${paused.label}`);
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.status.message, err.message);
      assert.equal(span.attributes["error.type"], "MC_ERR_TIMEOUT");
      assert.equal(span.events[0]?.name, "exception");
      assert.equal(span.events[0]?.attributes?.["exception.message"], err.message);
    } finally {
      paused.resume();
      await paused.kill();
    }
  });

  it("a dead server at an IPv6 address: server.address without brackets, server.port, error.type = the error's code", async () => {
    const port = await freePort();
    const mc = client({ servers: [`[::1]:${port}`], timeout: 2000, retries: { attempts: 0 } });
    const err = (await mc.get("e:2").then(
      () => assert.fail("the get should fail"),
      (e: unknown) => e,
    )) as { code: string };
    const span = only(`get [::1]:${port}`);
    assert.equal(span.attributes["server.address"], "::1");
    assert.equal(span.attributes["server.port"], port);
    assert.match(err.code, /^MC_ERR_/);
    assert.equal(span.attributes["error.type"], err.code);
    assert.equal(span.status.code, SpanStatusCode.ERROR);
  });

  it("a Unix socket: server.address is its path, network.transport = unix, no port, the operation alone as name", async () => {
    const unix = await startMemcached({ unixSocket: true });
    try {
      await client({ servers: [unix.label] }).get("u:1");
      assert.deepEqual(only("get").attributes, {
        "db.system.name": "memcached",
        "db.operation.name": "get",
        "server.address": unix.path,
        "network.transport": "unix",
        "memcached.hit": false,
      });
    } finally {
      await unix.kill();
    }
  });

  it("db.client.operation.duration: seconds, the advised buckets, the span's low-cardinality attributes", async () => {
    const reader = meterReader();
    const mc = client({ traceKeys: true });
    await mc.set("m:1", "v");
    await mc.get("m:1");
    await mc.getMany(["m:1", "m:2"]);
    const port = await freePort();
    await client({ servers: [`127.0.0.1:${port}`], retries: { attempts: 0 } })
      .get("m:1")
      .catch(() => undefined);
    const points = await durationPoints(reader);
    assert.deepEqual(points[0]?.value.buckets.boundaries, [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
    const base = { "db.system.name": "memcached", "server.address": "127.0.0.1" };
    assert.deepEqual(
      points.map((p) => [p.attributes, p.value.count]),
      [
        [{ ...base, "db.operation.name": "set", "server.port": suite.server.port }, 1],
        [{ ...base, "db.operation.name": "get", "server.port": suite.server.port }, 1],
        [{ ...base, "db.operation.name": "BATCH get", "server.port": suite.server.port }, 1],
        [
          {
            ...base,
            "db.operation.name": "get",
            "server.port": port,
            "error.type": "MC_ERR_CONNECTION",
          },
          1,
        ],
      ],
    );
  });
});
