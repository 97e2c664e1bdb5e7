/**
 * Type test of `memcachio/otel`: the README's set-up compiles under strict TypeScript as written (only
 * the import path differs), and so does the instrumentation given where OpenTelemetry expects one.
 * Compiled by `npm run typetest` (never run).
 */
import type { Instrumentation } from "@opentelemetry/instrumentation";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { MemcachioInstrumentation } from "../../src/otel.ts";

// ── the README's snippet ──
registerInstrumentations({ instrumentations: [new MemcachioInstrumentation()] });

const asked = new MemcachioInstrumentation({ captureKeys: true, requireParentSpan: true, enabled: false });
const generic: Instrumentation = asked;
generic.setConfig({ enabled: true });
asked.disable();
asked.enable();

// @ts-expect-error: captureKeys is a boolean
new MemcachioInstrumentation({ captureKeys: "yes" });
// @ts-expect-error: no such option (a typo of captureKeys)
new MemcachioInstrumentation({ captureKey: true });
