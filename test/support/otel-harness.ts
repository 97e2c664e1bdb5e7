/**
 * The OpenTelemetry setting of the `memcachio/otel` tests, as an application sets it up:
 * `registerInstrumentations`, a tracer provider with an in-memory exporter, an AsyncLocalStorage
 * context manager, a meter provider with a reader collected on demand; and two real memcached
 * servers, one of them also behind a proxy that can slow its replies.
 */
import assert from "node:assert/strict";
import { after, afterEach, before } from "node:test";
import { context, type Span, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { type DataPoint, type Histogram, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Client, type ClientOptions } from "../../src/index.ts";
import { MemcachioInstrumentation } from "../../src/otel.ts";
import { type MemcachedServer, startMemcached } from "./memcached.ts";
import { current } from "./protocols.ts";
import { FaultProxy } from "./proxy.ts";

/** A metric reader collected by the test itself. */
export class TestReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export const exporter = new InMemorySpanExporter();
export const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
/** The application's own spans (the callers). */
export const appTracer = tracerProvider.getTracer("app");
const contextManager = new AsyncLocalStorageContextManager();
export const instrumentation = new MemcachioInstrumentation();
let unregister: () => void = () => {};
const clients: Client[] = [];

/** The servers of an OTel test file (set in `before`). */
export interface OtelServers {
  server: MemcachedServer;
  other: MemcachedServer;
  /** `other`, behind a proxy that can make its replies slow. */
  slow: FaultProxy;
}
const suite = {} as OtelServers;

export function client(o: Partial<ClientOptions> = {}): Client {
  const c = new Client({ protocol: current.protocol, servers: [suite.server.label], ...o });
  clients.push(c);
  return c;
}

/** The spans memcachio made (not the test's own). */
export function memcachedSpans(): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === "memcachio");
}

/** A fresh meter provider for the instrumentation, read by the returned reader. */
export function meterReader(): TestReader {
  const reader = new TestReader();
  instrumentation.setMeterProvider(new MeterProvider({ readers: [reader] }));
  return reader;
}

/** The points of `db.client.operation.duration` that `reader` collects. */
export async function durationPoints(reader: TestReader): Promise<DataPoint<Histogram>[]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .find((s) => s.scope.name === "memcachio")
    ?.metrics.find((m) => m.descriptor.name === "db.client.operation.duration");
  assert.ok(metric !== undefined, "the histogram is recorded");
  assert.equal(metric.descriptor.unit, "s");
  return metric.dataPoints as DataPoint<Histogram>[];
}

/** Runs `work(i)` for `n` callers at once, each under a span of its own (ended after it): the spans. */
export async function asCallers(n: number, work: (i: number) => Promise<unknown>): Promise<Span[]> {
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
export function assertUnderOwnCallers(callers: Span[], callerOf: (queryText: string) => number): number {
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
export function only(name: string): ReadableSpan {
  const found = memcachedSpans().filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span ${name}: ${memcachedSpans().map((s) => s.name)}`);
  return found[0]!;
}

/**
 * Registers the file's hooks (call at its top): the instrumentation and the servers before the
 * tests, clients closed and the setting reset after each, all taken down after the file.
 */
export function otelSuite(): OtelServers {
  before(async () => {
    context.setGlobalContextManager(contextManager.enable());
    unregister = registerInstrumentations({ instrumentations: [instrumentation], tracerProvider });
    [suite.server, suite.other] = await Promise.all([startMemcached(), startMemcached()]);
    suite.slow = await new FaultProxy(suite.other.host, suite.other.port).start();
  });
  after(async () => {
    unregister();
    context.disable();
    await suite.slow.stop();
    await Promise.all([suite.server.kill(), suite.other.kill()]);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    suite.slow.mode = "pass";
    instrumentation.setConfig({});
    instrumentation.enable();
    exporter.reset();
  });
  return suite;
}
