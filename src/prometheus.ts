/**
 * `memcachio/prometheus`: Prometheus metrics for clients, with `prom-client` (an optional peer
 * dependency: install it yourself).
 *
 *     import { collectMetrics } from "memcachio/prometheus";
 *     collectMetrics(sessions, { registry, name: "sessions" });
 *     collectMetrics(pages, { registry, name: "pages" });
 *
 * Commands are counted from the `memcachio:command` tracing channel (only the collected client's);
 * gauges are read from `client.health()` at scrape time. Several clients share one registry: every
 * series carries a `client` label. See the README ("Prometheus") for every metric, and
 * `npx memcachio dashboard|alerts` for a Grafana dashboard and alerting rules over them.
 */
import { type Registry, register as defaultRegistry } from "prom-client";
import type { Client } from "./client.js";
import { type CommandContext, commandChannel } from "./diagnostics.js";
import { InvalidArgumentError } from "./errors.js";
import { type Collected, MetricFamilies } from "./prometheus/families.js";
import { checkPrefix, DEFAULT_PREFIX } from "./prometheus/names.js";

/** Options of {@link collectMetrics}. */
export interface MetricsOptions {
  /** Registry to register the metrics in. Default: prom-client's global registry. */
  registry?: Registry | undefined;
  /** Prefix of every metric name. Default `memcachio_`. */
  prefix?: string | undefined;
  /**
   * The client's `client` label value, unique within the registry. Default: `default` for the
   * first unnamed client of a registry, then `default-2`, `default-3`, … (in the order collected).
   */
  name?: string | undefined;
}

/** What {@link collectMetrics} returns. */
export interface CollectedMetrics {
  /** How many metrics the registry holds for this prefix. */
  metrics: number;
  /** The `client` label value of this client's series. */
  name: string;
  /**
   * Stops counting this client and removes its series; the last client of a registry and prefix
   * removes the metrics themselves. Other clients' metrics go on. Calling it again does nothing.
   */
  stop(): void;
}

const START = Symbol("memcachio.start");
type Timed = CommandContext & { [START]?: number };

/** The metric families of each registry, by prefix. */
const familiesByRegistry = new WeakMap<Registry, Map<string, MetricFamilies>>();

function familiesOf(registry: Registry, prefix: string): MetricFamilies {
  let byPrefix = familiesByRegistry.get(registry);
  if (byPrefix === undefined) familiesByRegistry.set(registry, (byPrefix = new Map()));
  let families = byPrefix.get(prefix);
  // Dropped from the registry behind our back (`registry.clear()`): start a new set.
  if (families === undefined || !families.registered) {
    families = new MetricFamilies(registry, prefix);
    byPrefix.set(prefix, families);
  }
  return families;
}

/**
 * Registers the metrics in `registry` (once per registry and prefix) and starts counting `client`
 * under its `client` label. Throws `InvalidArgumentError` when the name, or the client, is already
 * collected into that registry, or when a metric name is taken by something else.
 */
export function collectMetrics(client: Client, options: MetricsOptions = {}): CollectedMetrics {
  const registry = options.registry ?? defaultRegistry;
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) {
    throw new InvalidArgumentError("collectMetrics: name must be a non-empty string");
  }
  const families = familiesOf(registry, prefix);
  const collected: Collected = families.add(client, options.name);

  const onStart = (ctx: unknown) => {
    const c = ctx as Timed;
    if (c.client === client) c[START] = performance.now();
  };
  const onEnd = (ctx: unknown) => {
    const c = ctx as Timed;
    if (c.client !== client || c[START] === undefined) return;
    families.record(collected, c, (performance.now() - c[START]) / 1000);
  };
  const subscribers = { start: onStart, asyncEnd: onEnd };
  commandChannel.subscribe(subscribers as never);
  let stopped = false;
  return {
    metrics: families.count,
    name: collected.name,
    stop() {
      if (stopped) return;
      stopped = true;
      commandChannel.unsubscribe(subscribers as never);
      families.remove(collected);
      const byPrefix = familiesByRegistry.get(registry);
      if (families.clients.size === 0 && byPrefix?.get(prefix) === families) byPrefix.delete(prefix);
    },
  };
}
