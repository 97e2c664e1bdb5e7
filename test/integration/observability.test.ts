import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { describe, it } from "node:test";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { CHANNELS, Client, type CommandContext } from "../../src/index.ts";
import { startService } from "../example/http-service.ts";
import { sleep, startMemcached } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";
import { suiteServers } from "../support/suite-servers.ts";

const servers = suiteServers(2);
/** Labels of the suite's servers (read in tests: the servers start in the suite's \`before\`). */
const labels = (): string[] => servers.map((s) => s.label);

/** Collects the contexts published on the command channel while `fn` runs. */
async function traced(fn: () => Promise<void>): Promise<CommandContext[]> {
  const ch = diagnostics.tracingChannel<unknown, CommandContext>(CHANNELS.command);
  const seen: CommandContext[] = [];
  const handlers = { asyncEnd: (ctx: CommandContext) => seen.push({ ...ctx }) };
  ch.subscribe(handlers as never);
  try {
    await fn();
  } finally {
    ch.unsubscribe(handlers as never);
  }
  return seen;
}

forEachProtocol(() => {
  describe("diagnostics_channel", () => {
    it("memcachio:command: command, server, key count and outcome — never a value, keys only when opted in", async () => {
      const mc = new Client({ protocol: current.protocol, servers: labels() });
      try {
        const secret = "s3cret-value";
        const seen = await traced(async () => {
          await mc.set("t:1", secret);
          await mc.get("t:1");
          await mc.get("t:none");
          await mc.getMany(["t:1", "t:none", "t:2"]);
        });
        const byCommand = (c: string) => seen.filter((s) => s.command === c);
        assert.equal(byCommand("set").length, 1);
        assert.deepEqual(
          byCommand("get").map((s) => s.hit),
          [true, false],
        );
        assert.equal(
          byCommand("getMany").reduce((n, s) => n + (s.found ?? 0), 0),
          1,
        );
        assert.equal(
          byCommand("getMany").reduce((n, s) => n + s.keyCount, 0),
          3,
        );
        for (const s of seen) {
          assert.ok(labels().includes(s.server), s.server);
          assert.equal(s.keys, undefined, "keys only when opted in");
          assert.ok(!JSON.stringify({ ...s, client: undefined }).includes(secret), "never a value");
        }
        const withKeys = new Client({ protocol: current.protocol, servers: labels(), traceKeys: true });
        const keyed = await traced(async () => {
          await withKeys.get("t:1");
        });
        assert.deepEqual(keyed[0]?.keys, ["t:1"]);
        await withKeys.close();
      } finally {
        await mc.close();
      }
    });

    it("errors are published on the error channel; server down/up and connection open/close channels", async () => {
      const events: string[] = [];
      const on = (name: string) => (msg: unknown) =>
        events.push(`${name} ${(msg as { server: string }).server}`);
      const subs = {
        [CHANNELS.serverDown]: on("down"),
        [CHANNELS.serverUp]: on("up"),
        [CHANNELS.connectionOpen]: on("open"),
        [CHANNELS.connectionClose]: on("close"),
      };
      for (const [c, fn] of Object.entries(subs)) diagnostics.subscribe(c, fn);
      const errors: unknown[] = [];
      const ch = diagnostics.tracingChannel<unknown, CommandContext>(CHANNELS.command);
      const h = { error: (ctx: CommandContext) => errors.push(ctx.error) };
      ch.subscribe(h as never);
      const victim = await startMemcached();
      const mc = new Client({
        protocol: current.protocol,
        servers: [victim.label],
        failover: { retryDelay: 50, maxRetryDelay: 50 },
        retries: { attempts: 0 },
      });
      try {
        await mc.set("x", 1);
        await victim.kill();
        await mc.get("x").catch(() => undefined);
        await victim.restart();
        const until = performance.now() + 3000;
        while (!events.includes(`up ${victim.label}`) && performance.now() < until) await sleep(20);
        await mc.get("x");
      } finally {
        await mc.close();
        await victim.kill();
        ch.unsubscribe(h as never);
        for (const [c, fn] of Object.entries(subs)) diagnostics.unsubscribe(c, fn);
      }
      assert.ok(errors.length >= 1, "the failed get was published on the error channel");
      for (const e of ["open", "down", "up", "close"])
        assert.ok(events.includes(`${e} ${victim.label}`), `${e}: ${events.join(", ")}`);
    });
  });
});

// The example service is one application's set-up: meta (it uses fetch).
describe("example: HTTP service with read-through cache, /metrics and OpenTelemetry spans", () => {
  it("serves, caches, exposes metrics and spans", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const loads: string[] = [];
    const svc = await startService(labels(), provider, async (id) => {
      loads.push(id);
      return { id, name: `product ${id}` };
    });
    try {
      for (const id of ["1", "1", "2", "1"]) {
        const res = await fetch(`${svc.url}/product/${id}`);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { id, name: `product ${id}` });
      }
      assert.deepEqual(loads, ["1", "2"], "the database is read once per product");
      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      assert.match(metrics, /memcachio_commands_total\{command="fetch",result="hit"/);
      const spans = exporter.getFinishedSpans();
      // The reads of fetch (its write-backs are traced as fetch too, with no hit).
      const fetches = spans.filter(
        (s) => s.attributes["db.operation.name"] === "fetch" && s.attributes["memcached.hit"] !== undefined,
      );
      assert.equal(fetches.length, 4);
      assert.ok(
        fetches.every((s) =>
          labels().includes(`${s.attributes["server.address"]}:${s.attributes["server.port"]}`),
        ),
      );
      assert.equal(fetches.filter((s) => s.attributes["memcached.hit"] === true).length, 2);
    } finally {
      await svc.close();
    }
  });
});
