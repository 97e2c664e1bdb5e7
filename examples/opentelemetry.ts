// OpenTelemetry: a CLIENT span per request memcachio sends, under the span active at the call. Here a
// bare tracer provider that keeps spans in memory; with the Node SDK (@opentelemetry/sdk-node), which
// registers a context manager itself, registerInstrumentations is called the same way.
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Client } from "memcachio";
import { MemcachioInstrumentation } from "memcachio/otel";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
trace.setGlobalTracerProvider(provider);
// Without a context manager, every span is a root.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

registerInstrumentations({ instrumentations: [new MemcachioInstrumentation()] });

const mc = new Client({ servers: ["127.0.0.1:11211"] });
await trace.getTracer("shop").startActiveSpan("GET /cart", async (request) => {
  await mc.set("cart:7", ["teapot"], { ttl: 600 });
  await mc.get("cart:7");
  request.end();
});

const spans = exporter.getFinishedSpans();
const names = new Map(spans.map((s) => [s.spanContext().spanId, s.name]));
for (const { attributes: a, parentSpanContext } of spans.filter((s) => s.attributes["db.system.name"])) {
  const hit = a["memcached.hit"] === undefined ? "" : ` hit=${a["memcached.hit"]}`;
  const parent = names.get(parentSpanContext?.spanId ?? "");
  console.log(`${a["db.operation.name"]} on ${a["server.address"]}${hit}, in ${parent}`);
}
await mc.close();
