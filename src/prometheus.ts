/**
 * `memcachio/prometheus`: Prometheus metrics for a client, with `prom-client` (an optional peer
 * dependency: install it yourself).
 *
 *     import { collectMetrics } from "memcachio/prometheus";
 *     collectMetrics(client, { registry, prefix: "memcachio_" });
 *
 * Commands are counted from the `memcachio:command` tracing channel (only this client's); gauges are
 * read from `client.health()` at scrape time. See the README ("Metrics") for every metric.
 */
import { Counter, Gauge, Histogram, type Registry, register as defaultRegistry } from "prom-client";
import type { Client } from "./client.js";
import { type CommandContext, commandChannel } from "./diagnostics.js";
import { ConnectionError, TimeoutError } from "./errors.js";

/** Options of {@link collectMetrics}. */
export interface MetricsOptions {
  /** Registry to register the metrics in. Default: prom-client's global registry. */
  registry?: Registry;
  /** Prefix of every metric name. Default `memcachio_`. */
  prefix?: string;
}

const START = Symbol("memcachio.start");
type Timed = CommandContext & { [START]?: number };

/** Every metric this module registers (without the prefix). */
const NAMES = [
  "commands_total",
  "command_duration_seconds",
  "hits_total",
  "misses_total",
  "timeouts_total",
  "retries_total",
  "failovers_total",
  "server_flushes_total",
  "topology_changes_total",
  "topology_errors_total",
  "warm_up_hits_total",
  "hedges_total",
  "servers_up",
  "server_up",
  "connections",
  "in_flight",
  "queue_depth",
] as const;

/** The outcome label of a finished command. */
function outcome(ctx: CommandContext): string {
  if (ctx.error !== undefined) {
    if (ctx.error instanceof TimeoutError) return "timeout";
    if (ctx.error instanceof ConnectionError) return "unavailable";
    return "error";
  }
  if (ctx.hit !== undefined) return ctx.hit ? "hit" : "miss";
  return "ok";
}

/**
 * Registers the client's metrics in `registry` and starts counting. Returns how many metrics were
 * registered and `stop()`, which stops counting and removes them from the registry.
 */
export function collectMetrics(
  client: Client,
  options: MetricsOptions = {},
): { metrics: number; stop(): void } {
  const registry = options.registry ?? defaultRegistry;
  const p = options.prefix ?? "memcachio_";
  const registers = [registry];
  const commands = new Counter({
    name: `${p}commands_total`,
    help: "Requests sent to a server, by command, outcome (hit, miss, ok, timeout, unavailable, error) and server.",
    labelNames: ["command", "result", "server"],
    registers,
  });
  const duration = new Histogram({
    name: `${p}command_duration_seconds`,
    help: "Time from sending a request to its outcome, by command and server.",
    labelNames: ["command", "server"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const hits = new Counter({
    name: `${p}hits_total`,
    help: "Keys found by get, gets, getAndTouch and getMany.",
    registers,
  });
  const misses = new Counter({
    name: `${p}misses_total`,
    help: "Keys not found by get, gets, getAndTouch and getMany.",
    registers,
  });
  const timeouts = new Counter({
    name: `${p}timeouts_total`,
    help: "Requests that reached their deadline, by server.",
    labelNames: ["server"],
    registers,
  });
  /** A counter that follows a running total read from `health()` at scrape time. */
  const fromHealth = (name: string, help: string, read: (h: ReturnType<Client["health"]>) => number) => {
    let last = 0;
    return new Counter({
      name: `${p}${name}`,
      help,
      registers,
      collect() {
        const v = read(client.health());
        this.inc(v - last);
        last = v;
      },
    });
  };
  /** The same, one series per `label` value: `read` gives each value's running total. */
  const fromHealthBy = (
    name: string,
    help: string,
    label: string,
    read: (h: ReturnType<Client["health"]>) => Record<string, number>,
  ) => {
    const last = new Map<string, number>();
    return new Counter({
      name: `${p}${name}`,
      help,
      labelNames: [label],
      registers,
      collect() {
        for (const [value, total] of Object.entries(read(client.health()))) {
          this.inc({ [label]: value }, total - (last.get(value) ?? 0));
          last.set(value, total);
        }
      },
    });
  };
  const retries = fromHealth(
    "retries_total",
    "Requests sent again after a connection failure.",
    (h) => h.retries,
  );
  const failovers = fromHealth("failovers_total", "Reads moved to another replica.", (h) => h.failovers);
  const flushes = fromHealth(
    "server_flushes_total",
    "Servers flushed before serving: they may hold older values than are remembered (the serverFlushed event says why).",
    (h) => h.flushes,
  );
  const topologyChanges = fromHealth(
    "topology_changes_total",
    "Changes of the server list (setServers, DNS, discovery).",
    (h) => h.topology.changes,
  );
  const topologyErrors = fromHealthBy(
    "topology_errors_total",
    "DNS names that did not resolve and discovery polls that failed; the last good servers stay.",
    "source",
    (h) => ({ dns: h.topology.dnsErrors, discovery: h.topology.discoveryErrors }),
  );
  const warmUpHits = fromHealth(
    "warm_up_hits_total",
    "Misses on a key's new owner answered by its previous owner (warm-up).",
    (h) => h.topology.warmUpHits,
  );
  const hedges = fromHealthBy(
    "hedges_total",
    "Hedged reads: hedges sent, hedges whose answer came first (won), reads not hedged for want of budget (budget_exhausted).",
    "result",
    (h) => ({ sent: h.hedges.sent, won: h.hedges.won, budget_exhausted: h.hedges.budgetExhausted }),
  );
  const perServer = (
    name: string,
    help: string,
    read: (s: ReturnType<Client["health"]>["servers"][number]) => number,
  ) =>
    new Gauge({
      name: `${p}${name}`,
      help,
      labelNames: ["server"],
      registers,
      collect() {
        this.reset();
        for (const s of client.health().servers) this.set({ server: s.label }, read(s));
      },
    });
  // Gauges are registered in `registers` and read at scrape time.
  const gauges = [
    new Gauge({
      name: `${p}servers_up`,
      help: "Servers up (taking traffic).",
      registers,
      collect() {
        this.set(client.health().servers.filter((s) => s.state === "up").length);
      },
    }),
    perServer("server_up", "1 when the server is up, 0 when down or probing.", (s) =>
      s.state === "up" ? 1 : 0,
    ),
    perServer("connections", "Open connections (pool size).", (s) => s.pool.size),
    perServer("in_flight", "Requests written and not yet answered.", (s) => s.inFlight),
    perServer("queue_depth", "Requests waiting to be written.", (s) => s.queued),
  ];

  const onStart = (ctx: unknown) => {
    const c = ctx as Timed;
    if (c.client === client) c[START] = performance.now();
  };
  const onEnd = (ctx: unknown) => {
    const c = ctx as Timed;
    if (c.client !== client || c[START] === undefined) return;
    const result = outcome(c);
    commands.inc({ command: c.command, result, server: c.server });
    duration.observe({ command: c.command, server: c.server }, (performance.now() - c[START]) / 1000);
    if (result === "timeout") timeouts.inc({ server: c.server });
    if (result === "hit") hits.inc();
    else if (result === "miss") misses.inc();
    else if (c.found !== undefined) {
      hits.inc(c.found);
      misses.inc(Math.max(0, c.keyCount - c.found));
    }
  };
  const subscribers = { start: onStart, asyncEnd: onEnd };
  commandChannel.subscribe(subscribers as never);
  return {
    metrics: [
      commands,
      duration,
      hits,
      misses,
      timeouts,
      retries,
      failovers,
      flushes,
      topologyChanges,
      topologyErrors,
      warmUpHits,
      hedges,
      ...gauges,
    ].length,
    stop() {
      commandChannel.unsubscribe(subscribers as never);
      for (const name of NAMES) registry.removeSingleMetric(`${p}${name}`);
    },
  };
}
