/**
 * `memcachio/prometheus` against real memcached servers: what each metric counts (reads beaten by
 * their hedge, servers all down, a full queue included), several clients on one registry (told apart
 * by the `client` label), and fetch's write-back counted as `fetch`.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import {
  CHANNELS,
  Client,
  type ClientOptions,
  type CommandContext,
  HashRing,
  InvalidArgumentError,
  NoServersError,
  QueueFullError,
} from "../../src/index.ts";
import { collectMetrics } from "../../src/prometheus.ts";
import { freePort, type MemcachedServer, startMemcached, waitFor } from "../support/memcached.ts";
import { current, forEachProtocol } from "../support/protocols.ts";
import { suiteServers } from "../support/suite-servers.ts";
import { FaultProxy } from "../support/proxy.ts";

const servers = suiteServers(2);
/** Labels of the suite's servers (read in tests: the servers start in the suite's \`before\`). */
const labels = (): string[] => servers.map((s) => s.label);

/** A client of the suite's servers; deadlines generous, for none of these tests is about them. */
function client(o: Partial<ClientOptions> = {}): Client {
  return new Client({ servers: labels(), timeout: 5000, ...o });
}

/** The sum of the samples of `metric` (a histogram's `…_count` too) whose labels include all of `labels`. */
async function sampled(registry: Registry, metric: string, labels: Record<string, string> = {}) {
  const m = (await registry.getMetricsAsJSON()).find((x) => [x.name, `${x.name}_count`].includes(metric));
  if (m === undefined) return Number.NaN;
  const wanted = Object.entries(labels);
  type Sample = { value: number; labels: Record<string, string | number>; metricName?: string };
  const samples = (m.values as Sample[]).filter(
    (v) => (v.metricName ?? metric) === metric && wanted.every(([k, want]) => String(v.labels[k]) === want),
  );
  return samples.reduce((n, v) => n + v.value, 0);
}

forEachProtocol(() => {
  describe("collectMetrics", () => {
    it("commands, latency, hits and misses, servers, connections, in flight, queue and its limit, timeouts", async () => {
      const mc = client({ protocol: current.protocol, maxQueue: 500 });
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
        for (const l of labels()) {
          const series = (name: string, v: string) =>
            new RegExp(`memcachio_${name}\\{server="${l}",client="default"\\} ${v}\\n`);
          assert.match(text, series("server_up", "1"));
          assert.match(text, series("connections", "\\d+"));
          assert.match(text, series("in_flight", "0"));
          assert.match(text, series("queue_depth", "0"));
          // maxQueue is per server, however many connections it has.
          assert.match(text, series("queue_limit", "500"));
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
    const sessions = client();
    const pages = client();
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
    const clients = [0, 1, 2].map(() => client());
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
    const [first, second] = [client(), client()];
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
    const mc = client();
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
    const mc = client();
    const registry = new Registry();
    const m = collectMetrics(mc, { registry });
    try {
      const seen = await contextsOf(
        () => mc.fetch(`wb:${process.pid}:cas`, () => "loaded", { ttl: 60 }),
        // Past the call's deadline the write-back goes on without the caller: wait for it.
        (s) => s.length >= 2,
      );
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
    const [winner, waiter] = [client(), client()];
    const key = `wb:${process.pid}:add`;
    let release: (() => void) | null = null;
    const slow = winner.fetch(key, () => new Promise<string>((r) => (release = () => r("slow"))), {
      ttl: 60,
      timeout: 5000,
    });
    try {
      // The winner's loader runs: the waiter's fetch finds the key claimed and waits for it, until
      // its deadline (the loader is held until the end). Connected first: the deadline is the wait's.
      await waitFor(() => release !== null, 5000);
      await waiter.version();
      const seen = await contextsOf(
        () => waiter.fetch(key, () => "mine", { ttl: 60, timeout: 1000 }),
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

describe("requests their server did not answer, and the queue's limit", () => {
  it('a read beaten by its hedge: result="abandoned", kept out of the duration histogram', async () => {
    const [fast, slowServer] = servers as [MemcachedServer, MemcachedServer];
    const slow = await new FaultProxy(slowServer.host, slowServer.port).start();
    const mc = client({ servers: [slow.label, fast.label], replicas: 2, hedge: { after: 20 } });
    const registry = new Registry();
    const m = collectMetrics(mc, { registry });
    try {
      const ring = new HashRing([slow.label, fast.label]);
      let key = "ab:0"; // read first from the slow server
      for (let i = 1; ring.serverFor(key) !== slow.label; i++) key = `ab:${i}`;
      await mc.set(key, "v");
      slow.mode = "delay";
      slow.delayMs = 1000;
      assert.equal(await mc.get(key), "v");
      const gets = async (labels: Record<string, string>, metric = "memcachio_commands_total") =>
        sampled(registry, metric, { command: "get", ...labels });
      assert.equal(await gets({ result: "abandoned", server: slow.label }), 1);
      assert.equal(await gets({ result: "hit", server: fast.label }), 1);
      assert.equal(await gets({}), 2, "nothing else");
      // The abandoned read's time is its call's, not its server's.
      const durations = "memcachio_command_duration_seconds_count";
      assert.equal(await gets({ server: fast.label }, durations), 1);
      assert.equal(await gets({ server: slow.label }, durations), 0);
      assert.equal(await sampled(registry, "memcachio_hits_total"), 1);
      assert.equal(await sampled(registry, "memcachio_misses_total"), 0, "abandoned is no miss");
    } finally {
      m.stop();
      await mc.close();
      await slow.stop();
    }
  });

  it('every server down and ejected: the NoServersError is counted as result="unavailable"', async () => {
    const nowhere = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const mc = client({ servers: nowhere, failover: { eject: true, retryDelay: 10_000 } });
    const registry = new Registry();
    let m: ReturnType<typeof collectMetrics> | undefined;
    try {
      // Each refused connection marks its server down at once, and ejects it.
      for (let i = 0; i < 10 && mc.health().servers.some((s) => s.state === "up"); i++)
        await mc.get(`k${i}`).catch(() => undefined);
      assert.ok(
        mc.health().servers.every((s) => s.state === "down"),
        "both down",
      );
      m = collectMetrics(mc, { registry });
      await assert.rejects(mc.get("k"), NoServersError);
      await assert.rejects(mc.set("k", "v"), NoServersError);
      const count = (labels: Record<string, string>) => sampled(registry, "memcachio_commands_total", labels);
      for (const command of ["get", "set"]) {
        assert.equal(await count({ command, result: "unavailable" }), 1, command);
        assert.equal(await count({ command }), 1, `${command}: counted once, as nothing else`);
      }
    } finally {
      m?.stop();
      await mc.close();
    }
  });

  it("health().servers[].queueLimit is how many requests queue before QueueFullError; so do the gauges", async () => {
    const stopped = await startMemcached();
    const oneConnection = { maxInFlight: 1, pool: { min: 1, max: 1 }, retries: { attempts: 0 } };
    const mc = client({ servers: [stopped.label], maxQueue: 4, ...oneConnection });
    const registry = new Registry();
    const m = collectMetrics(mc, { registry });
    const answered: Promise<unknown>[] = [];
    try {
      await mc.get("q:warm");
      await stopped.pause();
      // One request written and not answered: the others wait in the queue.
      answered.push(mc.get("q:0"));
      await waitFor(() => mc.health().servers[0]!.inFlight === 1, 5000);
      const { queueLimit } = mc.health().servers[0]!;
      assert.equal(queueLimit, 4, "maxQueue, on one connection");
      for (let i = 1; i <= queueLimit; i++) answered.push(mc.get(`q:${i}`));
      await assert.rejects(mc.get("q:over"), QueueFullError);
      assert.equal(mc.health().servers[0]!.queued, queueLimit);
      assert.equal(await sampled(registry, "memcachio_queue_depth"), queueLimit);
      assert.equal(await sampled(registry, "memcachio_queue_limit"), queueLimit);
    } finally {
      stopped.resume();
      await Promise.allSettled(answered);
      m.stop();
      await mc.close();
      await stopped.kill();
    }
  });
});
