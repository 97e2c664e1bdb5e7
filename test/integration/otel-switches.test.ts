/** Turning `memcachio/otel` off and on: disable(), enable(), `enabled: false`, registering. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { MemcachioInstrumentation } from "../../src/otel.ts";
import {
  client,
  instrumentation,
  memcachedSpans,
  otelSuite,
  tracerProvider,
} from "../support/otel-harness.ts";

otelSuite();

describe("memcachio/otel: on and off", () => {
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
});
