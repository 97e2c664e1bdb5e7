/**
 * An HTTP service with a read-through cache, Prometheus metrics and OpenTelemetry spans built from
 * memcachio's tracing channel: the example the README shows, run by test/integration/observability.test.ts.
 */
import { createServer } from "node:http";
import { type Span, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { Registry } from "prom-client";
import { CHANNELS, Client, type CommandContext } from "../../src/index.ts";
import { collectMetrics } from "../../src/prometheus.ts";
import diagnostics from "node:diagnostics_channel";

const SPAN = Symbol("span");

/** Turns `memcachio:command` traces into OpenTelemetry spans. Returns a function that stops it. */
export function traceToOpenTelemetry(tracer: Tracer): () => void {
  const channel = diagnostics.tracingChannel<unknown, CommandContext & { [SPAN]?: Span }>(CHANNELS.command);
  const handlers = {
    start(ctx: CommandContext & { [SPAN]?: Span }) {
      ctx[SPAN] = tracer.startSpan(`memcached ${ctx.command}`, {
        attributes: {
          "db.system": "memcached",
          "db.operation.name": ctx.command,
          "server.address": ctx.server,
          "memcached.key_count": ctx.keyCount,
        },
      });
    },
    error(ctx: CommandContext & { [SPAN]?: Span }) {
      ctx[SPAN]?.recordException(ctx.error as Error);
      ctx[SPAN]?.setStatus({ code: SpanStatusCode.ERROR });
    },
    asyncEnd(ctx: CommandContext & { [SPAN]?: Span }) {
      const span = ctx[SPAN];
      if (span === undefined) return;
      if (ctx.hit !== undefined) span.setAttribute("memcached.hit", ctx.hit);
      span.end();
    },
  };
  channel.subscribe(handlers as never);
  return () => channel.unsubscribe(handlers as never);
}

/** Starts the service on a free port. `loadProduct` stands for the database. */
export async function startService(
  servers: string[],
  tracer: Tracer,
  loadProduct: (id: string) => Promise<{ id: string; name: string }>,
) {
  const mc = new Client({ servers, timeout: 250 });
  const registry = new Registry();
  const metrics = collectMetrics(mc, { registry });
  const stopTracing = traceToOpenTelemetry(tracer);
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
