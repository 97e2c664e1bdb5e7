/**
 * The metric families of one registry and prefix, shared by every client collected into them: a
 * registry holds one metric per name, so a second client adds series (its own `client` label)
 * instead of metrics. Commands are counted as they end; everything read from `health()` is read at
 * scrape time, once per client per scrape.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Client } from "../client.js";
import type { Health, ServerHealth } from "../client/health.js";
import type { CommandContext } from "../diagnostics.js";
import { ConnectionError, InvalidArgumentError, TimeoutError } from "../errors.js";
import { CLIENT_LABEL, METRIC } from "./names.js";

/** One client counted into a {@link MetricFamilies}. */
export class Collected {
  /** Totals read from `health()` at the last scrape, by series: a counter grows by the difference. */
  readonly lastTotals = new Map<string, number>();
  /** The command, result and server label values counted, by their joined key (removed on stop). */
  readonly commandSeries = new Map<string, { command: string; result: string; server: string }>();
  #snapshot: Health | null = null;

  constructor(
    /** Its `client` label value. */
    readonly name: string,
    readonly client: Client,
  ) {}

  /** `client.health()`, read once per scrape: every metric of a scrape sees the same snapshot. */
  health(): Health {
    if (this.#snapshot === null) {
      this.#snapshot = this.client.health();
      // A scrape calls every metric's collect() in one synchronous pass.
      queueMicrotask(() => {
        this.#snapshot = null;
      });
    }
    return this.#snapshot;
  }
}

/** The outcome label of a finished command. */
function outcome(ctx: CommandContext): string {
  if (ctx.error !== undefined) {
    if (ctx.error instanceof TimeoutError) return "timeout";
    if (ctx.error instanceof ConnectionError) return "unavailable";
    return "error";
  }
  // Sent, then not waited for: its call was answered another way (a hedge won, a batch part failed).
  if (ctx.abandoned === true) return "abandoned";
  if (ctx.hit !== undefined) return ctx.hit ? "hit" : "miss";
  return "ok";
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/** A metric's name (prom-client sets it; its types leave it out). */
const nameOf = (m: AnyMetric): string => (m as unknown as { name: string }).name;

export class MetricFamilies {
  /** The clients counted, by name. */
  readonly clients = new Map<string, Collected>();
  readonly #registry: Registry;
  readonly #metrics: AnyMetric[] = [];
  /** Removes a client's series of the counters read from `health()`. */
  readonly #forgetTotals: ((c: Collected) => void)[] = [];
  readonly #commands: Counter<"command" | "result" | "server" | "client">;
  readonly #duration: Histogram<"command" | "server" | "client">;
  readonly #hits: Counter<"client">;
  readonly #misses: Counter<"client">;
  readonly #timeouts: Counter<"server" | "client">;

  /** Makes the metrics and registers them; refuses (registering nothing) when a name is taken. */
  constructor(registry: Registry, prefix: string) {
    this.#registry = registry;
    const taken = Object.values(METRIC)
      .map((n) => prefix + n)
      .filter((n) => registry.getSingleMetric(n) !== undefined);
    if (taken.length > 0) {
      throw new InvalidArgumentError(
        `${taken.join(", ")} already registered by something else: collect with another prefix or registry`,
      );
    }
    const p = prefix;
    const clients = this.clients;
    this.#commands = this.#add(
      new Counter({
        name: `${p}${METRIC.commands}`,
        help: "Requests sent to a server, by command, outcome (hit, miss, ok, timeout, unavailable, error, abandoned) and server.",
        labelNames: ["command", "result", "server", CLIENT_LABEL],
        registers: [],
      }),
    );
    this.#duration = this.#add(
      new Histogram({
        name: `${p}${METRIC.duration}`,
        help: "Time from sending a request to its outcome, by command and server.",
        labelNames: ["command", "server", CLIENT_LABEL],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
        registers: [],
      }),
    );
    const keys = (name: string, help: string) =>
      this.#add(new Counter({ name: `${p}${name}`, help, labelNames: [CLIENT_LABEL], registers: [] }));
    this.#hits = keys(METRIC.hits, "Keys found by get, gets, getAndTouch, getMany and fetch.");
    this.#misses = keys(METRIC.misses, "Keys not found by get, gets, getAndTouch, getMany and fetch.");
    this.#timeouts = this.#add(
      new Counter({
        name: `${p}${METRIC.timeouts}`,
        help: "Requests that reached their deadline, by server.",
        labelNames: ["server", CLIENT_LABEL],
        registers: [],
      }),
    );
    /**
     * A counter that follows running totals read from `health()`: `read` gives each value of `label`
     * its total (`label` null: one total, under the key "").
     */
    const fromHealth = (
      name: string,
      help: string,
      label: string | null,
      read: (h: Health) => Record<string, number>,
    ) => {
      const labelsOf = (value: string, client: string): Record<string, string> =>
        label === null ? { [CLIENT_LABEL]: client } : { [label]: value, [CLIENT_LABEL]: client };
      const counter = new Counter({
        name: `${p}${name}`,
        help,
        labelNames: label === null ? [CLIENT_LABEL] : [label, CLIENT_LABEL],
        registers: [],
        collect() {
          for (const c of clients.values()) {
            for (const [value, total] of Object.entries(read(c.health()))) {
              const key = `${name}\0${value}`;
              this.inc(labelsOf(value, c.name), Math.max(0, total - (c.lastTotals.get(key) ?? 0)));
              c.lastTotals.set(key, total);
            }
          }
        },
      });
      this.#add(counter);
      this.#forgetTotals.push((c) => {
        for (const key of c.lastTotals.keys()) {
          const [metric, value] = key.split("\0") as [string, string];
          if (metric === name) counter.remove(labelsOf(value, c.name));
        }
      });
    };
    fromHealth(METRIC.retries, "Requests sent again after a connection failure.", null, (h) => ({
      "": h.retries,
    }));
    fromHealth(METRIC.failovers, "Reads moved to another replica.", null, (h) => ({ "": h.failovers }));
    fromHealth(
      METRIC.flushes,
      "Servers flushed before serving: they may hold older values than are remembered (the serverFlushed event says why).",
      null,
      (h) => ({ "": h.flushes }),
    );
    fromHealth(
      METRIC.topologyChanges,
      "Changes of the server list (setServers, DNS, discovery).",
      null,
      (h) => ({ "": h.topology.changes }),
    );
    fromHealth(
      METRIC.topologyErrors,
      "DNS names that did not resolve and discovery polls that failed; the last good servers stay.",
      "source",
      (h) => ({ dns: h.topology.dnsErrors, discovery: h.topology.discoveryErrors }),
    );
    fromHealth(
      METRIC.warmUpHits,
      "Misses on a key's new owner answered by its previous owner (warm-up).",
      null,
      (h) => ({ "": h.topology.warmUpHits }),
    );
    fromHealth(
      METRIC.hedges,
      "Hedged reads: hedges sent, hedges whose answer came first (won), reads not hedged for want of budget (budget_exhausted).",
      "result",
      (h) => ({ sent: h.hedges.sent, won: h.hedges.won, budget_exhausted: h.hedges.budgetExhausted }),
    );
    this.#add(
      new Gauge({
        name: `${p}${METRIC.serversUp}`,
        help: "Servers up (taking traffic).",
        labelNames: [CLIENT_LABEL],
        registers: [],
        collect() {
          this.reset();
          for (const c of clients.values()) {
            const up = c.health().servers.filter((s) => s.state === "up").length;
            this.set({ [CLIENT_LABEL]: c.name }, up);
          }
        },
      }),
    );
    const perServer = (name: string, help: string, read: (s: ServerHealth) => number) =>
      this.#add(
        new Gauge({
          name: `${p}${name}`,
          help,
          labelNames: ["server", CLIENT_LABEL],
          registers: [],
          collect() {
            this.reset();
            for (const c of clients.values()) {
              for (const s of c.health().servers)
                this.set({ server: s.label, [CLIENT_LABEL]: c.name }, read(s));
            }
          },
        }),
      );
    perServer(METRIC.serverUp, "1 when the server is up, 0 when down or probing.", (s) =>
      s.state === "up" ? 1 : 0,
    );
    this.#add(
      new Gauge({
        name: `${p}${METRIC.serverInfo}`,
        help: "1 for each server, labelled with its zone (empty when it has none).",
        labelNames: ["server", "zone", CLIENT_LABEL],
        registers: [],
        collect() {
          this.reset();
          for (const c of clients.values()) {
            for (const s of c.health().servers)
              this.set({ server: s.label, zone: s.zone ?? "", [CLIENT_LABEL]: c.name }, 1);
          }
        },
      }),
    );
    perServer(METRIC.connections, "Open connections (pool size).", (s) => s.pool.size);
    perServer(METRIC.inFlight, "Requests written and not yet answered.", (s) => s.inFlight);
    perServer(METRIC.queueDepth, "Requests waiting to be written.", (s) => s.queued);
    perServer(
      METRIC.queueLimit,
      "Requests the server can queue before QueueFullError (maxQueue).",
      (s) => s.queueLimit,
    );
    for (const m of this.#metrics) registry.registerMetric(m);
  }

  /** How many metrics (names) are registered. */
  get count(): number {
    return this.#metrics.length;
  }

  /** Whether its metrics are still the registry's (a `registry.clear()` drops them). */
  get registered(): boolean {
    return this.#registry.getSingleMetric(nameOf(this.#commands)) === this.#commands;
  }

  /** Starts counting `client` as `name` (default: `default`, then `default-2`, …). */
  add(client: Client, name: string | undefined): Collected {
    for (const c of this.clients.values()) {
      if (c.client === client) {
        throw new InvalidArgumentError(
          `this client is already collected into this registry (as ${JSON.stringify(c.name)}): stop() that first`,
        );
      }
    }
    if (name !== undefined && this.clients.has(name)) {
      throw new InvalidArgumentError(
        `a client named ${JSON.stringify(name)} is already collected into this registry: give each client its own name`,
      );
    }
    let chosen = name ?? "default";
    for (let i = 2; this.clients.has(chosen); i++) chosen = `default-${i}`;
    const c = new Collected(chosen, client);
    this.clients.set(chosen, c);
    // Hits and misses from 0, so that a ratio of their rates has both from the first scrape.
    this.#hits.inc({ client: chosen }, 0);
    this.#misses.inc({ client: chosen }, 0);
    return c;
  }

  /** Counts a command of `c` that ended `seconds` after it was sent. */
  record(c: Collected, ctx: CommandContext, seconds: number): void {
    const result = outcome(ctx);
    const { command, server } = ctx;
    const client = c.name;
    this.#commands.inc({ command, result, server, client });
    // An abandoned request's time is its call's, not its server's.
    if (result !== "abandoned") this.#duration.observe({ command, server, client }, seconds);
    const key = `${command}\0${result}\0${server}`;
    if (!c.commandSeries.has(key)) c.commandSeries.set(key, { command, result, server });
    if (result === "timeout") this.#timeouts.inc({ server, client });
    if (result === "hit") this.#hits.inc({ client });
    else if (result === "miss") this.#misses.inc({ client });
    else if (ctx.found !== undefined) {
      this.#hits.inc({ client }, ctx.found);
      this.#misses.inc({ client }, Math.max(0, ctx.keyCount - ctx.found));
    }
  }

  /** Stops counting `c` and removes its series; the last one out unregisters the metrics. */
  remove(c: Collected): void {
    if (this.clients.get(c.name) !== c) return;
    this.clients.delete(c.name);
    const client = c.name;
    for (const { command, result, server } of c.commandSeries.values()) {
      this.#commands.remove({ command, result, server, client });
      this.#duration.remove({ command, server, client });
      this.#timeouts.remove({ server, client });
    }
    this.#hits.remove({ client });
    this.#misses.remove({ client });
    for (const forget of this.#forgetTotals) forget(c);
    // The gauges are rebuilt at every scrape: the client is simply not in them any more.
    if (this.clients.size === 0) {
      for (const m of this.#metrics) {
        const name = nameOf(m);
        if (this.#registry.getSingleMetric(name) === m) this.#registry.removeSingleMetric(name);
      }
    }
  }

  #add<M extends AnyMetric>(metric: M): M {
    this.#metrics.push(metric);
    return metric;
  }
}
