/** Each of `memcachio/otel`'s spans is a child of its own caller's span, however many callers run at once. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { context, trace } from "@opentelemetry/api";
import { freePort, sleep } from "../support/memcached.ts";
import {
  appTracer,
  asCallers,
  assertUnderOwnCallers,
  client,
  instrumentation,
  memcachedSpans,
  otelSuite,
} from "../support/otel-harness.ts";

const suite = otelSuite();

describe("memcachio/otel: parents", () => {
  it("each span's parent is its own caller's span, with many callers at once", async () => {
    instrumentation.setConfig({ captureKeys: true });
    const mc = client({ servers: [suite.server.label, suite.other.label], traceKeys: true });
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
      servers: [`127.0.0.1:${dead}`, suite.server.label],
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
