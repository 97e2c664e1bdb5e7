/**
 * The names of the metrics `collectMetrics` exports (without the prefix): one list read by the
 * collector, the Grafana dashboard and the alerting rules, so that none of them names a metric the
 * others do not know. No prom-client here: the CLI reads it too.
 */
import { InvalidArgumentError } from "../errors.js";

/** Metric names, without the prefix. */
export const METRIC = {
  commands: "commands_total",
  /** A histogram: scraped as `_bucket`, `_sum` and `_count`. */
  duration: "command_duration_seconds",
  hits: "hits_total",
  misses: "misses_total",
  timeouts: "timeouts_total",
  retries: "retries_total",
  failovers: "failovers_total",
  flushes: "server_flushes_total",
  topologyChanges: "topology_changes_total",
  topologyErrors: "topology_errors_total",
  warmUpHits: "warm_up_hits_total",
  hedges: "hedges_total",
  serversUp: "servers_up",
  serverUp: "server_up",
  serverInfo: "server_info",
  connections: "connections",
  inFlight: "in_flight",
  queueDepth: "queue_depth",
  queueLimit: "queue_limit",
} as const;

/** The prefix of every metric name unless told otherwise. */
export const DEFAULT_PREFIX = "memcachio_";

/** The label that tells apart the clients collected into one registry. */
export const CLIENT_LABEL = "client";

/** `prefix` when metric names may start with it (Prometheus' name syntax; empty is allowed). */
export function checkPrefix(prefix: string): string {
  if (!/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    throw new InvalidArgumentError(
      `metric prefix ${JSON.stringify(prefix)} is not usable in a metric name: use letters, digits, _ and : (not first a digit)`,
    );
  }
  return prefix;
}
