/**
 * `memcachio/prometheus` against real memcached servers: what each metric counts, several clients on
 * one registry (told apart by the `client` label), and fetch's write-back counted as `fetch`.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { after, before, describe, it } from "node:test";
import { Registry } from "prom-client";
import { CHANNELS, Client, type CommandContext, InvalidArgumentError } from "../../src/index.ts";
import { collectMetrics } from "../../src/prometheus.ts";
import { type MemcachedServer, sleep, startMemcached, waitFor } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";

let servers: MemcachedServer[] = [];
let labels: string[] = [];

before(async () => {
  servers = await Promise.all([startMemcached(), startMemcached()]);
  labels = servers.map((s) => s.label);
});
after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
});

/** The sum of the samples of `metric` whose labels include every one of `labels`. */
async function sampled(registry: Registry, metric: string, labels: Record<string, string> = {}) {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === metric);
  if (m === undefined) return Number.NaN;
  const wanted = Object.entries(labels);
  const samples = (m.values as { value: number; labels: Record<string, string | number> }[]).filter((v) =>
    wanted.every(([k, want]) => String(v.labels[k]) === want),
  );
  return samples.reduce((n, v) => n + v.value, 0);
}

forEachProtocol(() => {
  describe("collectMetrics", () => {
    it("commands, latency, hits and misses, servers, connections, in flight, queue and its limit, timeouts", async () => {
      const mc = new Client({ protocol: current.protocol, servers: labels, maxQueue: 500 });
      const registry = new Registry();
      const m = collectMetrics(mc, { registry });
      try {
        await mc.set("m:1", "v");
        for (let i = 0; i < 5; i++) await mc.get("m:1");
        await mc.get("m:none");
        await mc.getMany(["m:1", "m:none"]);
        const text = await registry.metrics();
        const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
        const hitsGet = [
          ...text.matchAll(
            /memcachio_commands_total\{command="get",result="hit",server="[^"]+",client="default"\} (\d+)/g,
          ),
        ];
        assert.equal(
          hitsGet.reduce((n, x) => n + Number(x[1]), 0),
          5,
        );
        assert.equal(value(/memcachio_hits_total\{client="default"\} (\d+)/), 6);
        assert.equal(value(/memcachio_misses_total\{client="default"\} (\d+)/), 2);
        assert.ok(
          value(
            /memcachio_command_duration_seconds_count\{command="get",server="[^"]+",client="default"\} (\d+)/,
          ) >= 1,
        );
        assert.equal(value(/memcachio_servers_up\{client="default"\} (\d+)/), 2);
        for (const l of labels) {
          const series = (name: string, v: string) =>
            new RegExp(`memcachio_${name}\\{server="${l}",client="default"\\} ${v}\\n`);
          assert.match(text, series("server_up", "1"));
          assert.match(text, series("connections", "\\d+"));
          assert.match(text, series("in_flight", "0"));
          assert.match(text, series("queue_depth", "0"));
          // maxQueue is per connection: a server takes that many per connection in use.
          const connections = mc.health().servers.find((s) => s.label === l)!.pool.active;
          assert.match(text, series("queue_limit", String(500 * Math.max(1, connections))));
        }
        for (const name of ["timeouts_total", "retries_total", "failovers_total", "server_flushes_total"])
          assert.match(text, new RegExp(`memcachio_${name}`));
        m.stop();
        assert.equal((await registry.metrics()).trim(), "", "stop() removes the metrics");
      } finally {
        await mc.close();
      }
    });
  });
});

describe("several clients on one registry", () => {
  it("each is counted under its own `client` label; stop() of one leaves the other's metrics", async () => {
    const registry = new Registry();
    const sessions = new Client({ servers: labels });
    const pages = new Client({ servers: labels });
    const a = collectMetrics(sessions, { registry, name: "sessions" });
    const b = collectMetrics(pages, { registry, name: "pages" });
    try {
      await sessions.set("two:1", "v");
      for (let i = 0; i < 3; i++) await sessions.get("two:1");
      for (let i = 0; i < 2; i++) await pages.get("two:none");
      assert.equal(await sampled(registry, "memcachio_hits_total", { client: "sessions" }), 3);
      assert.equal(await sampled(registry, "memcachio_misses_total", { client: "sessions" }), 0);
      assert.equal(await sampled(registry, "memcachio_misses_total", { client: "pages" }), 2);
      assert.equal(
        await sampled(registry, "memcachio_commands_total", { client: "sessions", command: "set" }),
        1,
      );
      assert.equal(
        await sampled(registry, "memcachio_commands_total", { client: "pages", command: "set" }),
        0,
      );
      assert.equal(await sampled(registry, "memcachio_servers_up", { client: "sessions" }), 2);
      assert.equal(await sampled(registry, "memcachio_servers_up", { client: "pages" }), 2);

      a.stop();
      await pages.get("two:none");
      assert.equal(await sampled(registry, "memcachio_misses_total", { client: "pages" }), 3);
      assert.equal(await sampled(registry, "memcachio_servers_up", { client: "pages" }), 2);
      const text = await registry.metrics();
      assert.ok(!text.includes('client="sessions"'), "a stopped client's series are gone");
      assert.match(
        text,
        /memcachio_commands_total\{command="get",result="miss",server="[^"]+",client="pages"\}/,
      );
      a.stop();
      assert.equal(await sampled(registry, "memcachio_misses_total", { client: "pages" }), 3, "stop() twice");

      b.stop();
      assert.equal((await registry.metrics()).trim(), "", "the last stop() removes the metrics");
    } finally {
      a.stop();
      b.stop();
      await Promise.all([sessions.close(), pages.close()]);
    }
  });

  it("unnamed clients are default, default-2, …; a name or a client used twice is refused", async () => {
    const registry = new Registry();
    const clients = [0, 1, 2].map(() => new Client({ servers: labels }));
    const collected = clients.slice(0, 2).map((c) => collectMetrics(c, { registry }));
    try {
      await clients[0]!.get("names:none");
      await clients[1]!.get("names:none");
      await clients[1]!.get("names:none");
      assert.equal(await sampled(registry, "memcachio_misses_total", { client: "default" }), 1);
      assert.equal(await sampled(registry, "memcachio_misses_total", { client: "default-2" }), 2);
      assert.throws(
        () => collectMetrics(clients[2]!, { registry, name: "default-2" }),
        (e: unknown) => e instanceof InvalidArgumentError && /default-2.*already/.test(e.message),
      );
      assert.throws(
        () => collectMetrics(clients[0]!, { registry, name: "again" }),
        (e: unknown) => e instanceof InvalidArgumentError && /already/.test(e.message),
      );
      // Another prefix is another set of metrics: the same client may be collected there.
      const other = collectMetrics(clients[0]!, { registry, prefix: "other_" });
      assert.equal(await sampled(registry, "other_servers_up", { client: "default" }), 2);
      other.stop();
    } finally {
      for (const c of collected) c.stop();
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("after registry.clear(), collecting registers the metrics again", async () => {
    const registry = new Registry();
    const [first, second] = [new Client({ servers: labels }), new Client({ servers: labels })];
    const a = collectMetrics(first, { registry });
    registry.clear();
    const b = collectMetrics(second, { registry });
    try {
      await second.get("clear:none");
      assert.equal(b.name, "default", "a new set of metrics, with no client in it yet");
      assert.equal(await sampled(registry, "memcachio_misses_total", { client: "default" }), 1);
      a.stop();
      assert.equal(await sampled(registry, "memcachio_servers_up", { client: "default" }), 2, "still there");
    } finally {
      b.stop();
      await Promise.all([first.close(), second.close()]);
    }
  });

  it("a metric name taken by something else in the registry: InvalidArgumentError naming it", async () => {
    const registry = new Registry();
    registry.registerMetric(
      new (await import("prom-client")).Gauge({ name: "memcachio_in_flight", help: "x", registers: [] }),
    );
    const mc = new Client({ servers: labels });
    try {
      assert.throws(
        () => collectMetrics(mc, { registry }),
        (e: unknown) => e instanceof InvalidArgumentError && /memcachio_in_flight/.test(e.message),
      );
      assert.deepEqual(
        (await registry.getMetricsAsJSON()).map((x) => x.name),
        ["memcachio_in_flight"],
        "nothing half-registered",
      );
    } finally {
      await mc.close();
    }
  });
});

describe("fetch's write-back", () => {
  /**
   * The contexts published on the command channel while `fn` runs, and after it until `until`
   * holds of them (a write-back may go on after the call returned).
   */
  async function contextsOf(
    fn: () => Promise<unknown>,
    until: (seen: CommandContext[]) => boolean = () => true,
  ): Promise<CommandContext[]> {
    const ch = diagnostics.tracingChannel<unknown, CommandContext>(CHANNELS.command);
    const seen: CommandContext[] = [];
    const handlers = { asyncEnd: (ctx: CommandContext) => seen.push({ ...ctx }) };
    ch.subscribe(handlers as never);
    try {
      await fn();
      await waitFor(() => until(seen), 5000);
    } finally {
      ch.unsubscribe(handlers as never);
    }
    return seen;
  }
  /** A write: no hit or miss, no error. */
  const isWrite = (c: CommandContext) => c.hit === undefined && c.error === undefined;

  it("is counted as fetch (result ok), not cas", async () => {
    const mc = new Client({ servers: labels });
    const registry = new Registry();
    const m = collectMetrics(mc, { registry });
    try {
      const seen = await contextsOf(() => mc.fetch(`wb:${process.pid}:cas`, () => "loaded", { ttl: 60 }));
      assert.deepEqual(
        seen.map((c) => [c.command, c.hit]),
        [
          ["fetch", false],
          ["fetch", undefined],
        ],
        "the read and the write-back",
      );
      assert.equal(
        await sampled(registry, "memcachio_commands_total", { command: "fetch", result: "miss" }),
        1,
      );
      assert.equal(
        await sampled(registry, "memcachio_commands_total", { command: "fetch", result: "ok" }),
        1,
      );
      assert.equal(await sampled(registry, "memcachio_commands_total", { command: "cas" }), 0);
    } finally {
      m.stop();
      await mc.close();
    }
  });

  it("written with add (the wait for another caller's load ran out) is counted as fetch too", async () => {
    const [winner, waiter] = [new Client({ servers: labels }), new Client({ servers: labels })];
    const key = `wb:${process.pid}:add`;
    let release: (() => void) | null = null;
    const slow = winner.fetch(key, () => new Promise<string>((r) => (release = () => r("slow"))), {
      ttl: 60,
      timeout: 5000,
    });
    try {
      // The winner's loader runs: the waiter's fetch finds the key claimed and waits for it.
      while (release === null) await sleep(5);
      const seen = await contextsOf(
        () => waiter.fetch(key, () => "mine", { ttl: 60, timeout: 50 }),
        (s) => s.some(isWrite),
      );
      const names = seen.map((c) => c.command);
      assert.deepEqual(new Set(names), new Set(["fetch"]), names.join(","));
    } finally {
      (release as (() => void) | null)?.();
      await slow;
      await Promise.all([winner.close(), waiter.close()]);
    }
  });
});
