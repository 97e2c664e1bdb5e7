/**
 * An HTTP service with a read-through cache, Prometheus metrics and OpenTelemetry spans from
 * `memcachio/otel`: the example the README shows, run by test/integration/observability.test.ts.
 */
import { createServer } from "node:http";
import type { TracerProvider } from "@opentelemetry/api";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { Registry } from "prom-client";
import { Client } from "../../src/index.ts";
import { MemcachioInstrumentation } from "../../src/otel.ts";
import { collectMetrics } from "../../src/prometheus.ts";

/** Starts the service on a free port. `loadProduct` stands for the database. */
export async function startService(
  servers: string[],
  tracerProvider: TracerProvider,
  loadProduct: (id: string) => Promise<{ id: string; name: string }>,
) {
  const mc = new Client({ servers, timeout: 250 });
  const registry = new Registry();
  const metrics = collectMetrics(mc, { registry });
  // An application registers it once, with the Node SDK's providers (here: the test's tracer provider).
  const stopTracing = registerInstrumentations({
    instrumentations: [new MemcachioInstrumentation()],
    tracerProvider,
  });
  const http = createServer(async (req, res) => {
    try {
      const product = /^\/product\/(\w+)$/.exec(req.url ?? "");
      if (product !== null) {
        const id = product[1]!;
        const body = await mc.fetch(`product:${id}`, () => loadProduct(id), { ttl: 60 });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      } else if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": registry.contentType }).end(await registry.metrics());
      } else res.writeHead(404).end();
    } catch (err) {
      res.writeHead(503).end(String(err));
    }
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const a = http.address();
  const url = `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}`;
  return {
    url,
    async close() {
      stopTracing();
      metrics.stop();
      await new Promise<void>((r) => http.close(() => r()));
      await mc.close();
    },
  };
}
