/**
 * A Grafana dashboard over the metrics of `collectMetrics`, printed by `npx memcachio dashboard`:
 * import the JSON in Grafana (Dashboards → New → Import) and pick the Prometheus data source. Every
 * query is built from {@link METRIC} and follows the `client` and `server` variables.
 */
import { METRIC } from "./names.js";

interface Target {
  expr: string;
  legendFormat: string;
}

interface PanelSpec {
  title: string;
  type: "stat" | "timeseries";
  /** Width in Grafana's 24 columns. */
  w: number;
  h: number;
  unit: string;
  targets: Target[];
  description: string;
  /** Bounds of the axis or gauge (e.g. 0 and 1 for a ratio). */
  min?: number;
  max?: number;
}

/** The data source picked in the dashboard's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** The dashboard's panels, for metrics named with `prefix`. */
function panels(prefix: string): PanelSpec[] {
  const m = (name: string) => prefix + name;
  const clientOnly = 'client=~"$client"';
  const both = 'client=~"$client",server=~"$server"';
  const rate = (name: string, matcher: string) => `rate(${m(name)}{${matcher}}[$__rate_interval])`;
  const hitRatio = (by: string) =>
    `sum${by} (${rate(METRIC.hits, clientOnly)}) / (sum${by} (${rate(METRIC.hits, clientOnly)}) + sum${by} (${rate(METRIC.misses, clientOnly)}))`;
  const quantiles = (by: string): Target[] =>
    [
      ["0.5", "p50"],
      ["0.95", "p95"],
      ["0.99", "p99"],
    ].map(([q, name]) => ({
      expr: `histogram_quantile(${q}, sum by (le, ${by}) (${rate(`${METRIC.duration}_bucket`, both)}))`,
      legendFormat: `${name} {{${by}}}`,
    }));
  const one = (expr: string, legendFormat = "") => [{ expr, legendFormat }];
  const failed = `${both},result=~"timeout|unavailable|error"`;
  return [
    {
      title: "Hit ratio",
      type: "stat",
      w: 6,
      h: 4,
      unit: "percentunit",
      min: 0,
      max: 1,
      targets: one(hitRatio("")),
      description: "Keys found over keys looked up (get, gets, getAndTouch, getMany, fetch).",
    },
    {
      title: "Servers up",
      type: "stat",
      w: 6,
      h: 4,
      unit: "short",
      targets: one(`sum(${m(METRIC.serversUp)}{${clientOnly}})`),
      description: "Servers taking traffic, summed over the clients shown.",
    },
    {
      title: "Requests",
      type: "stat",
      w: 6,
      h: 4,
      unit: "reqps",
      targets: one(`sum(${rate(METRIC.commands, both)})`),
      description: "Requests sent to servers per second.",
    },
    {
      title: "Failed requests",
      type: "stat",
      w: 6,
      h: 4,
      unit: "reqps",
      targets: one(`sum(${rate(METRIC.commands, failed)})`),
      description: "Requests per second that timed out, found their server unavailable or failed.",
    },
    {
      title: "Hit ratio by client",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "percentunit",
      min: 0,
      max: 1,
      targets: one(hitRatio(" by (client)"), "{{client}}"),
      description: "A sudden drop: a flushed or restarted server, moved keys, or changed keys or TTLs.",
    },
    {
      title: "Requests by command and result",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "reqps",
      targets: one(`sum by (command, result) (${rate(METRIC.commands, both)})`, "{{command}} {{result}}"),
      description: "Results: hit, miss, ok, timeout, unavailable, error. fetch counts its write-back as ok.",
    },
    {
      title: "Latency by command",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "s",
      targets: quantiles("command"),
      description: "Percentiles of the time from sending a request to its outcome.",
    },
    {
      title: "Latency by server",
      type: "timeseries",
      w: 12,
      h: 8,
      unit: "s",
      targets: quantiles("server"),
      description: "Percentiles of the time from sending a request to its outcome.",
    },
    {
      title: "Server up",
      type: "timeseries",
      w: 8,
      h: 8,
      unit: "short",
      min: 0,
      max: 1,
      targets: one(`${m(METRIC.serverUp)}{${both}}`, "{{client}} {{server}}"),
      description: "1 while up, 0 while down or probing.",
    },
    {
      title: "In flight",
      type: "timeseries",
      w: 8,
      h: 8,
      unit: "short",
      targets: one(`sum by (server) (${m(METRIC.inFlight)}{${both}})`, "{{server}}"),
      description: "Requests written and not yet answered.",
    },
    {
      title: "Queue depth",
      type: "timeseries",
      w: 8,
      h: 8,
      unit: "short",
      targets: one(`sum by (server) (${m(METRIC.queueDepth)}{${both}})`, "{{server}}"),
      description: "Requests waiting to be written (over maxInFlight).",
    },
    {
      title: "Queue use",
      type: "timeseries",
      w: 8,
      h: 8,
      unit: "percentunit",
      min: 0,
      max: 1,
      targets: one(
        `max by (server) (${m(METRIC.queueDepth)}{${both}} / ${m(METRIC.queueLimit)}{${both}})`,
        "{{server}}",
      ),
      description: "Queue depth over its limit: at 100% requests are refused with QueueFullError.",
    },
    {
      title: "Retries and failovers",
      type: "timeseries",
      w: 8,
      h: 8,
      unit: "reqps",
      targets: [
        { expr: `sum(${rate(METRIC.retries, clientOnly)})`, legendFormat: "retries" },
        { expr: `sum(${rate(METRIC.failovers, clientOnly)})`, legendFormat: "failovers" },
        { expr: `sum by (result) (${rate(METRIC.hedges, clientOnly)})`, legendFormat: "hedges {{result}}" },
      ],
      description:
        "Requests sent again after a connection failure, reads moved to another replica, hedged reads.",
    },
    {
      title: "Timeouts by server",
      type: "timeseries",
      w: 8,
      h: 8,
      unit: "reqps",
      targets: one(`sum by (server) (${rate(METRIC.timeouts, both)})`, "{{server}}"),
      description: "Requests that reached their deadline.",
    },
    {
      title: "Connections",
      type: "timeseries",
      w: 8,
      h: 8,
      unit: "short",
      targets: one(`sum by (server) (${m(METRIC.connections)}{${both}})`, "{{server}}"),
      description: "Open connections per server.",
    },
    {
      title: "Topology and flushes",
      type: "timeseries",
      w: 8,
      h: 8,
      unit: "short",
      targets: [
        {
          expr: `sum(increase(${m(METRIC.topologyChanges)}{${clientOnly}}[$__rate_interval]))`,
          legendFormat: "server list changes",
        },
        {
          expr: `sum by (source) (increase(${m(METRIC.topologyErrors)}{${clientOnly}}[$__rate_interval]))`,
          legendFormat: "{{source}} errors",
        },
        {
          expr: `sum(increase(${m(METRIC.flushes)}{${clientOnly}}[$__rate_interval]))`,
          legendFormat: "servers flushed",
        },
        {
          expr: `sum(increase(${m(METRIC.warmUpHits)}{${clientOnly}}[$__rate_interval]))`,
          legendFormat: "warm-up hits",
        },
      ],
      description: "Changes of the server list, failures of DNS or discovery, servers flushed, warm-up hits.",
    },
  ];
}

/** A multi-value variable `name` (shown as `label`) whose values `query` lists. */
function queryVariable(name: string, label: string, query: string) {
  return {
    name,
    label,
    type: "query",
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: name },
    refresh: 2,
    multi: true,
    includeAll: true,
    allValue: ".*",
    current: { text: "All", value: "$__all" },
    sort: 1,
  };
}

/** The dashboard (Grafana's JSON model) for metrics named with `prefix`. */
export function grafanaDashboard(prefix: string): object {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const list = panels(prefix).map((p, i) => {
    if (x + p.w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { x, y, w: p.w, h: p.h };
    x += p.w;
    rowHeight = Math.max(rowHeight, p.h);
    const defaults: Record<string, unknown> = { unit: p.unit };
    if (p.min !== undefined) defaults.min = p.min;
    if (p.max !== undefined) defaults.max = p.max;
    return {
      id: i + 1,
      type: p.type,
      title: p.title,
      description: p.description,
      gridPos,
      datasource: DATASOURCE,
      fieldConfig: { defaults, overrides: [] },
      options:
        p.type === "stat"
          ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, graphMode: "area" }
          : {
              legend: { displayMode: "list", placement: "bottom", showLegend: true },
              tooltip: { mode: "multi" },
            },
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: DATASOURCE,
        expr: t.expr,
        legendFormat: t.legendFormat,
      })),
    };
  });
  const uid = `memcachio${prefix === "memcachio_" ? "" : `-${prefix.replace(/[^\w-]/g, "")}`}`.slice(0, 40);
  return {
    uid,
    title: prefix === "memcachio_" ? "memcachio" : `memcachio (${prefix})`,
    description: "memcachio clients: hits, latency, servers, queues (npx memcachio dashboard)",
    tags: ["memcachio", "memcached"],
    editable: true,
    graphTooltip: 1,
    refresh: "30s",
    schemaVersion: 39,
    time: { from: "now-1h", to: "now" },
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: {},
        },
        queryVariable("client", "Client", `label_values(${prefix}${METRIC.serversUp}, client)`),
        queryVariable(
          "server",
          "Server",
          `label_values(${prefix}${METRIC.serverUp}{client=~"$client"}, server)`,
        ),
      ],
    },
    annotations: { list: [] },
    panels: list,
  };
}
