/** Hedged reads in `memcachio/otel`: the hedge and the read it beat, and whose child each hedge is. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { type ClientOptions, HashRing } from "../../src/index.ts";
import { sleep, waitFor } from "../support/memcached.ts";
import {
  asCallers,
  assertUnderOwnCallers,
  client,
  durationPoints,
  exporter,
  instrumentation,
  memcachedSpans,
  meterReader,
  only,
  otelSuite,
} from "../support/otel-harness.ts";

const suite = otelSuite();

describe("memcachio/otel: hedged reads", () => {
  /** A client with two replicas of each key, hedging reads not answered within 20 ms. */
  const hedging = (o: Partial<ClientOptions> = {}) =>
    client({
      servers: [suite.slow.label, suite.server.label],
      replicas: 2,
      hedge: { after: 20 },
      timeout: 2000,
      ...o,
    });

  /** `n` keys whose first replica (the one read first) is the slow one. */
  function slowKeys(n: number): string[] {
    const ring = new HashRing([suite.slow.label, suite.server.label]);
    const keys = Array.from({ length: 40 * n }, (_, i) => `h${i}`);
    return keys.filter((k) => ring.serverFor(k) === suite.slow.label).slice(0, n);
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
    suite.slow.mode = "delay";
    suite.slow.delayMs = 1000;
    assert.equal(await mc.get(key), "v");
    const { UNSET } = SpanStatusCode;
    assert.deepEqual(outcome(only(`get ${suite.server.label}`)), [
      true,
      undefined,
      true,
      undefined,
      UNSET,
      [],
    ]);
    // Not a failure (no ERROR, no exception) and no outcome of its own: its call was answered.
    assert.deepEqual(outcome(only(`get ${suite.slow.label}`)), [
      undefined,
      true,
      undefined,
      undefined,
      UNSET,
      [],
    ]);
    // One measurement, the hedge's: the abandoned read's time is its call's, not its server's.
    const points = await durationPoints(reader);
    assert.deepEqual(
      points.map((p) => [p.attributes["db.operation.name"], p.attributes["server.port"], p.value.count]),
      [["get", suite.server.port, 1]],
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
    suite.slow.mode = "delay";
    suite.slow.delayMs = 1000;
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
