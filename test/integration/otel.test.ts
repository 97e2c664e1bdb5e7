/**
 * `memcachio/otel` against real memcached, through the OpenTelemetry SDK as an application sets it
 * up: `registerInstrumentations`, a tracer provider with an in-memory exporter, an
 * AsyncLocalStorage context manager, a meter provider with a reader collected on demand.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Client, type ClientOptions, HashRing } from "../../src/index.ts";
import { MemcachioInstrumentation } from "../../src/otel.ts";
import { freePort, type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";
import { FaultProxy } from "../support/proxy.ts";

/** A metric reader collected by the test itself. */
class TestReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
/** The application's own spans (the callers). */
const appTracer = tracerProvider.getTracer("app");
const contextManager = new AsyncLocalStorageContextManager();
const instrumentation = new MemcachioInstrumentation();
let unregister: () => void = () => {};
let server: MemcachedServer;
let other: MemcachedServer;
/** `other`, behind a proxy that can make its replies slow. */
let slow: FaultProxy;
const clients: Client[] = [];

function client(o: Partial<ClientOptions> = {}): Client {
  const c = new Client({ protocol: current.protocol, servers: [server.label], ...o });
  clients.push(c);
  return c;
}

/** The spans memcachio made (not the test's own). */
function memcachedSpans(): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === "memcachio");
}

/** A fresh meter provider for the instrumentation, read by the returned reader. */
function meterReader(): TestReader {
  const reader = new TestReader();
  instrumentation.setMeterProvider(new MeterProvider({ readers: [reader] }));
  return reader;
}

/** The points of `db.client.operation.duration` that `reader` collects. */
async function durationPoints(reader: TestReader): Promise<DataPoint<Histogram>[]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .find((s) => s.scope.name === "memcachio")
    ?.metrics.find((m) => m.descriptor.name === "db.client.operation.duration");
  assert.ok(metric !== undefined, "the histogram is recorded");
  assert.equal(metric.descriptor.unit, "s");
  return metric.dataPoints as DataPoint<Histogram>[];
}

/** Runs `work(i)` for `n` callers at once, each under a span of its own (ended after it): the spans. */
async function asCallers(n: number, work: (i: number) => Promise<unknown>): Promise<Span[]> {
  const callers = Array.from({ length: n }, (_, i) => appTracer.startSpan(`caller ${i}`));
  const under = (caller: Span, i: number) =>
    context.with(trace.setSpan(context.active(), caller), async () => {
      await work(i);
      caller.end();
    });
  await Promise.all(callers.map(under));
  return callers;
}

/** Asserts that each of memcachio's spans is a child of its own caller (found by its keys): how many have one. */
function assertUnderOwnCallers(callers: Span[], callerOf: (queryText: string) => number): number {
  const seen = new Set<number>();
  for (const span of memcachedSpans()) {
    const i = callerOf(String(span.attributes["db.query.text"]));
    const caller = callers[i]!.spanContext();
    assert.equal(span.parentSpanContext?.spanId, caller.spanId, `${span.name} of caller ${i}`);
    assert.equal(span.spanContext().traceId, caller.traceId);
    seen.add(i);
  }
  return seen.size;
}

/** The only span named `name`. */
function only(name: string): ReadableSpan {
  const found = memcachedSpans().filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span ${name}: ${memcachedSpans().map((s) => s.name)}`);
  return found[0]!;
}

before(async () => {
  context.setGlobalContextManager(contextManager.enable());
  unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider });
  [server, other] = await Promise.all([startMemcached(), startMemcached()]);
  slow = await new FaultProxy(other.host, other.port).start();
});
after(async () => {
  unregister();
  context.disable();
  await slow.stop();
  await Promise.all([server.kill(), other.kill()]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  slow.mode = "pass";
  instrumentation.setConfig({});
  instrumentation.enable();
  exporter.reset();
});

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
        "server.port": server.port,
      };
      const set = only(`set ${server.label}`);
      assert.equal(set.kind, SpanKind.CLIENT);
      assert.deepEqual(set.attributes, { ...base, "db.operation.name": "set" });
      assert.equal(set.status.code, SpanStatusCode.UNSET);
      const gets = memcachedSpans().filter((s) => s.name === `get ${server.label}`);
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
      const setMany = only(`BATCH set ${server.label}`);
      assert.equal(setMany.attributes["db.operation.name"], "BATCH set");
      assert.equal(setMany.attributes["db.operation.batch.size"], 3);
      const getMany = only(`BATCH get ${server.label}`);
      assert.equal(getMany.attributes["db.operation.batch.size"], 5);
      assert.equal(getMany.attributes["memcached.hit_count"], 3);
      const one = only(`get ${server.label}`);
      assert.equal(one.attributes["db.operation.batch.size"], undefined);
      assert.equal(one.attributes["memcached.hit"], true);
    });
  });
});

describe("memcachio/otel", () => {
  it("each span's parent is its own caller's span, with many callers at once", async () => {
    instrumentation.setConfig({ captureKeys: true });
    const mc = client({ servers: [server.label, other.label], traceKeys: true });
    const callers = await asCallers(24, async (i) => {
      await sleep(i % 3); // interleave the callers
      await mc.set(`p${i}:a`, i);
      await Promise.all([mc.get(`p${i}:a`), mc.getMany([`p${i}:b`, `p${i}:c`, `p${i}:d`])]);
    });
    const spans = memcachedSpans();
    assert.ok(spans.length >= callers.length * 3, `${spans.length} spans`);
    const parents = assertUnderOwnCallers(callers, (text) => Number(/^\w+ p(\d+):/.exec(text)?.[1]));
    assert.equal(parents, callers.length);
  });

  it("failovers and retries are parented under their own caller too", async () => {
    instrumentation.setConfig({ captureKeys: true });
    const dead = await freePort();
    const mc = client({
      servers: [`127.0.0.1:${dead}`, server.label],
      replicas: 2,
      traceKeys: true,
      retries: { attempts: 2, baseDelay: 1, maxDelay: 2 },
    });
    const callers = await asCallers(12, (i) =>
      Promise.all([mc.get(`f${i}:a`), mc.set(`f${i}:b`, i).catch(() => false)]),
    );
    const spans = memcachedSpans();
    assert.ok(spans.length > callers.length * 2, `some requests were tried again: ${spans.length} spans`);
    assertUnderOwnCallers(callers, (text) => Number(/^\w+ f(\d+):/.exec(text)?.[1]));
  });

  it("keys go into db.query.text only with captureKeys (and the client's traceKeys)", async () => {
    const mc = client({ traceKeys: true });
    await mc.get("k:default");
    assert.equal(only(`get ${server.label}`).attributes["db.query.text"], undefined);
    exporter.reset();
    instrumentation.setConfig({ captureKeys: true });
    await mc.get("k:asked");
    await mc.getMany(["k:a", "k:b"]);
    assert.equal(only(`get ${server.label}`).attributes["db.query.text"], "get k:asked");
    assert.equal(only(`BATCH get ${server.label}`).attributes["db.query.text"], "get k:a; get k:b");
    exporter.reset();
    await client({ traceKeys: false }).get("k:untraced");
    assert.equal(only(`get ${server.label}`).attributes["db.query.text"], undefined);
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
        [{ ...base, "db.operation.name": "set", "server.port": server.port }, 1],
        [{ ...base, "db.operation.name": "get", "server.port": server.port }, 1],
        [{ ...base, "db.operation.name": "BATCH get", "server.port": server.port }, 1],
        [{ ...base, "db.operation.name": "get", "server.port": port, "error.type": "MC_ERR_CONNECTION" }, 1],
      ],
    );
  });

  it("disable() stops spans and enable() brings them back", async () => {
    const mc = client();
    instrumentation.disable();
    await mc.get("d:1");
    assert.equal(memcachedSpans().length, 0);
    instrumentation.enable();
    await mc.get("d:1");
    assert.equal(memcachedSpans().length, 1);
  });

  it("`enabled: false`: no spans until enabled, by enable() or (as every instrumentation) by registering", async () => {
    instrumentation.disable();
    const off = new MemcachioInstrumentation({ enabled: false });
    off.setTracerProvider(tracerProvider);
    await client().get("d:2");
    assert.equal(memcachedSpans().length, 0);
    off.enable();
    await client().get("d:3");
    assert.equal(memcachedSpans().length, 1, "enable() turns it on");
    off.disable();
    const later = new MemcachioInstrumentation({ enabled: false });
    const unregister = registerInstrumentations({ instrumentations: [later], tracerProvider });
    try {
      await client().get("d:4");
      assert.equal(memcachedSpans().length, 2, "registerInstrumentations enables it");
    } finally {
      unregister();
    }
  });

  it("requireParentSpan: no span for a request made outside any span", async () => {
    instrumentation.setConfig({ requireParentSpan: true });
    const mc = client();
    await mc.get("r:1");
    assert.equal(memcachedSpans().length, 0);
    const caller = appTracer.startSpan("caller");
    await context.with(trace.setSpan(context.active(), caller), () => mc.get("r:1"));
    caller.end();
    assert.equal(memcachedSpans().length, 1);
  });
});

describe("memcachio/otel: hedged reads", () => {
  /** A client with two replicas of each key, hedging reads not answered within 20 ms. */
  const hedging = (o: Partial<ClientOptions> = {}) =>
    client({ servers: [slow.label, server.label], replicas: 2, hedge: { after: 20 }, timeout: 2000, ...o });

  /** `n` keys whose first replica (the one read first) is the slow one. */
  function slowKeys(n: number): string[] {
    const ring = new HashRing([slow.label, server.label]);
    const keys = Array.from({ length: 40 * n }, (_, i) => `h${i}`);
    return keys.filter((k) => ring.serverFor(k) === slow.label).slice(0, n);
  }

  /** A span's `memcachio.hedge`, `memcachio.abandoned`, `memcached.hit`, `error.type`, status and events. */
  const outcome = (s: ReadableSpan) => [
    ...["memcachio.hedge", "memcachio.abandoned", "memcached.hit", "error.type"].map((a) => s.attributes[a]),
    s.status.code,
    s.events.map((e) => e.name),
  ];

  it("the hedge has memcachio.hedge; the read it beat ends memcachio.abandoned, status UNSET, no exception, no duration", async () => {
    const mc = hedging();
    const [key] = slowKeys(1) as [string];
    await mc.set(key, "v");
    exporter.reset();
    const reader = meterReader();
    slow.mode = "delay";
    slow.delayMs = 1000;
    assert.equal(await mc.get(key), "v");
    const { UNSET } = SpanStatusCode;
    assert.deepEqual(outcome(only(`get ${server.label}`)), [true, undefined, true, undefined, UNSET, []]);
    // Not a failure (no ERROR, no exception) and no outcome of its own: its call was answered.
    assert.deepEqual(outcome(only(`get ${slow.label}`)), [undefined, true, undefined, undefined, UNSET, []]);
    // One measurement, the hedge's: the abandoned read's time is its call's, not its server's.
    const points = await durationPoints(reader);
    assert.deepEqual(
      points.map((p) => [p.attributes["db.operation.name"], p.attributes["server.port"], p.value.count]),
      [["get", server.port, 1]],
    );
  });

  it("with several callers hedging at once, each hedge is parented under its own caller's span", async () => {
    instrumentation.setConfig({ captureKeys: true });
    const mc = hedging({ traceKeys: true });
    const keys = slowKeys(6);
    await mc.setMany(keys.map((k) => [k, k]));
    // The copy on the second replica is written in the background: its span ends before counting.
    await waitFor(() => memcachedSpans().length >= 2, 2000);
    exporter.reset();
    slow.mode = "delay";
    slow.delayMs = 1000;
    // One timer of the hedger's sends every caller's hedges: each must still find its own caller.
    const callers = await asCallers(keys.length, async (i) => {
      await sleep(i % 3); // interleave the callers
      assert.equal(await mc.get(keys[i]!), keys[i]);
    });
    const spans = memcachedSpans();
    assert.equal(spans.filter((s) => s.attributes["memcachio.hedge"] === true).length, keys.length);
    assert.equal(spans.filter((s) => s.attributes["memcachio.abandoned"] === true).length, keys.length);
    assert.equal(spans.length, 2 * keys.length, spans.map((s) => s.name).join(", "));
    const parents = assertUnderOwnCallers(callers, (text) => keys.indexOf(text.replace(/^get /, "")));
    assert.equal(parents, keys.length);
  });
});
