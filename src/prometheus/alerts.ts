/**
 * Prometheus alerting rules over the metrics of `collectMetrics`, printed by `npx memcachio alerts`:
 * a rule file (`groups:`) to load with `rule_files:`. Every expression is built from {@link METRIC}
 * and keeps the `client` and `server` labels, so an alert says which client sees which server. The
 * thresholds are starting points: edit them in the file.
 */
import { METRIC } from "./names.js";

/** One alerting rule. */
export interface AlertRule {
  alert: string;
  /** PromQL; may span lines. */
  expr: string;
  /** How long `expr` must hold before the alert fires. */
  for: string;
  severity: "warning" | "critical";
  summary: string;
  description: string;
}

/** The rules, for metrics named with `prefix`. */
export function alertRules(prefix: string): AlertRule[] {
  const m = (name: string) => prefix + name;
  const rate = (name: string, range: string, matcher = "") => `rate(${m(name)}${matcher}[${range}])`;
  /** Hits over lookups, per client, over `range`. */
  const hitRatio = (range: string) =>
    [
      `sum by (client) (${rate(METRIC.hits, range)})`,
      "/",
      `(sum by (client) (${rate(METRIC.hits, range)}) + sum by (client) (${rate(METRIC.misses, range)}))`,
    ].join("\n");
  const perServer = (expr: string) => `sum by (client, server) (${expr})`;
  return [
    {
      alert: "MemcachedServerDown",
      expr: `${m(METRIC.serverUp)} == 0`,
      for: "1m",
      severity: "warning",
      summary: "memcached {{ $labels.server }} is down for client {{ $labels.client }}",
      description:
        "The client fails fast on this server (or moved its keys to the next server with eject, or to the gutter pool); its keys miss or fail until it is back.",
    },
    {
      alert: "MemcachedAllServersDown",
      expr: `${m(METRIC.serversUp)} == 0`,
      for: "1m",
      severity: "critical",
      summary: "No memcached server is up for client {{ $labels.client }}",
      description: "Every request of this client fails (or misses, with failOpen): the cache is gone.",
    },
    {
      alert: "MemcachedTimeoutsHigh",
      expr: `${perServer(rate(METRIC.timeouts, "5m"))}\n/\n${perServer(rate(METRIC.commands, "5m"))}\n> 0.01`,
      for: "5m",
      severity: "warning",
      summary:
        "{{ $value | humanizePercentage }} of requests to {{ $labels.server }} time out (client {{ $labels.client }})",
      description:
        "More than 1% of requests reached their deadline for 5 minutes: the server or the network is slow, or the client's timeout is too tight for its load.",
    },
    {
      alert: "MemcachedErrorsHigh",
      // server="" holds the requests that found no server at all: MemcachedAllServersDown's business.
      expr: `${perServer(rate(METRIC.commands, "5m", '{result=~"error|unavailable",server!=""}'))}\n/\n${perServer(rate(METRIC.commands, "5m", '{server!=""}'))}\n> 0.05`,
      for: "5m",
      severity: "warning",
      summary:
        "{{ $value | humanizePercentage }} of requests to {{ $labels.server }} fail (client {{ $labels.client }})",
      description:
        "More than 5% of requests failed for 5 minutes: connection errors, a server that is down or refuses requests, or full queues.",
    },
    {
      alert: "MemcachedHitRatioCollapsed",
      expr: `(\n${hitRatio("5m")}\n)\n< 0.5 * (\n${hitRatio("1h")}\n)\nand\n(sum by (client) (${rate(METRIC.hits, "5m")}) + sum by (client) (${rate(METRIC.misses, "5m")})) > 1`,
      for: "10m",
      severity: "warning",
      summary: "The hit ratio of client {{ $labels.client }} fell below half of its last hour's",
      description:
        "Far more lookups miss than usual: a server was flushed or restarted empty, keys moved (topology change), or the keys or TTLs written changed. The database takes the misses.",
    },
    {
      alert: "MemcachedQueueNearFull",
      expr: `max by (client, server) (${m(METRIC.queueDepth)} / ${m(METRIC.queueLimit)}) > 0.8`,
      for: "1m",
      severity: "critical",
      summary:
        "The queue to {{ $labels.server }} is {{ $value | humanizePercentage }} full (client {{ $labels.client }})",
      description:
        "Requests wait to be written faster than the server answers; at maxQueue they are refused with QueueFullError. The server is slow or overloaded, or maxInFlight, the pool or maxQueue is too small.",
    },
  ];
}

/** The rules as a Prometheus rule file (YAML; strings JSON-quoted, which YAML reads as they are). */
export function alertingRules(prefix: string): string {
  const out = [
    `# Prometheus alerting rules for memcachio's metrics (prefix ${JSON.stringify(prefix)}): npx memcachio alerts`,
    "# Load them with rule_files: in prometheus.yml. The thresholds are starting points.",
    "groups:",
    "  - name: memcachio",
    "    rules:",
  ];
  for (const r of alertRules(prefix)) {
    out.push(
      `      - alert: ${r.alert}`,
      "        expr: |",
      ...r.expr.split("\n").map((line) => `          ${line}`),
      `        for: ${r.for}`,
      "        labels:",
      `          severity: ${r.severity}`,
      "        annotations:",
      `          summary: ${JSON.stringify(r.summary)}`,
      `          description: ${JSON.stringify(r.description)}`,
    );
  }
  return `${out.join("\n")}\n`;
}
