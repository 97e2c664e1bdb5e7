/**
 * `memcachio/otel`: an OpenTelemetry instrumentation. It patches no module: it listens to the
 * `memcachio:command` tracing channel (see `diagnostics.ts`) and turns each request into a CLIENT
 * span and a `db.client.operation.duration` measurement, per OpenTelemetry's stable database
 * semantic conventions.
 *
 * ```ts
 * registerInstrumentations({ instrumentations: [new MemcachioInstrumentation()] });
 * ```
 *
 * A span's parent is the context active when the request is made, so a context manager must be
 * registered (the Node SDK registers one; with a bare provider, `AsyncLocalStorageContextManager`).
 */
import diagnostics from "node:diagnostics_channel";
import {
  type Attributes,
  context,
  type Histogram,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  ValueType,
} from "@opentelemetry/api";
import { InstrumentationBase, type InstrumentationConfig } from "@opentelemetry/instrumentation";
import { CHANNELS, type CommandContext } from "./diagnostics.js";

/** Options of {@link MemcachioInstrumentation}. */
export interface MemcachioInstrumentationConfig extends InstrumentationConfig {
  /**
   * Put the keys in `db.query.text` (`"get user:1"`; a batch: `"get a; get b"`). Off by default:
   * keys may be personal data. Needs the client's `traceKeys: true`, which puts them in the channel's
   * context. Values are never recorded.
   */
  captureKeys?: boolean | undefined;
  /** Make spans only for requests made under a span (not for background work). Default false. */
  requireParentSpan?: boolean | undefined;
}

/** Scope name of the tracer and meter. */
const SCOPE = "memcachio";
/** Set by the build (tsup `define`) to the package's version; absent when run from source. */
declare const __MEMCACHIO_VERSION__: string | undefined;
/** Version of the scope: the package's. */
const SCOPE_VERSION = typeof __MEMCACHIO_VERSION__ === "string" ? __MEMCACHIO_VERSION__ : "source";

// Attribute names of the stable database and network conventions (not imported from
// @opentelemetry/semantic-conventions, which is not one of our peer dependencies).
const DB_SYSTEM_NAME = "db.system.name";
const DB_OPERATION_NAME = "db.operation.name";
const DB_OPERATION_BATCH_SIZE = "db.operation.batch.size";
const DB_QUERY_TEXT = "db.query.text";
const SERVER_ADDRESS = "server.address";
const SERVER_PORT = "server.port";
const NETWORK_TRANSPORT = "network.transport";
const ERROR_TYPE = "error.type";
/** Whether a single-key read found its key (get, gets, gat, fetch). */
const MEMCACHED_HIT = "memcached.hit";
/** How many keys of a batch read were found (misses: `db.operation.batch.size` minus this). */
const MEMCACHED_HIT_COUNT = "memcached.hit_count";
/** Set on the hedge of a slow read: the same read sent to another replica. */
const MEMCACHIO_HEDGE = "memcachio.hedge";
/** Set when the call was answered another way first (the slower of a read and its hedge): no outcome. */
const MEMCACHIO_ABANDONED = "memcachio.abandoned";

/** Bucket boundaries (seconds) the conventions advise for `db.client.operation.duration`. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/** memcachio's multi-key commands, and the name of the operation each sends once per key. */
const BATCHES: Readonly<Record<string, string>> = { getMany: "get", setMany: "set", deleteMany: "delete" };

/** A span under way, found again by the channel's context object. */
interface OpenSpan {
  readonly span: Span;
  /** `performance.now()` at start, for the duration histogram. */
  readonly startedAt: number;
  /** The low-cardinality attributes the histogram shares with the span. */
  readonly metricAttributes: Attributes;
  /** The operation as named on the span (`get`, `BATCH get`, …). */
  readonly operation: string;
}

/**
 * Turns memcachio's requests into OpenTelemetry CLIENT spans and the `db.client.operation.duration`
 * histogram (stable database conventions). One span per request sent to a server: a retried,
 * failed-over or hedged read has one span per try, a batch over three servers one per server.
 *
 * Span name `{db.operation.name} {server.address}:{server.port}` (the operation alone for a Unix
 * socket). Attributes: `db.system.name = "memcached"`; `db.operation.name` — memcachio's command
 * (`get`, `set`, `gat`, `incr`, `fetch`, …), and for a batch of several keys the command it repeats
 * prefixed with `BATCH` (`getMany` → `BATCH get`) with `db.operation.batch.size`; `server.address`
 * and `server.port` (a Unix socket: its path, and `network.transport = "unix"`); on failure
 * `error.type` (the error's `code`, e.g. `MC_ERR_TIMEOUT`), status ERROR and the exception;
 * `memcached.hit` / `memcached.hit_count` on reads; `memcachio.hedge` on hedges; `memcachio.abandoned`
 * on a request whose call was answered another way first (status left unset, no duration);
 * `db.query.text` with keys only under `captureKeys`.
 */
export class MemcachioInstrumentation extends InstrumentationBase<MemcachioInstrumentationConfig> {
  // The base class calls `_updateMetricInstruments()` from its constructor, before this class's own
  // fields exist: the histogram is a declared (not initialised) property so that it survives.
  declare private _operationDuration: Histogram;
  readonly #channel = diagnostics.tracingChannel<unknown, CommandContext>(CHANNELS.command);
  readonly #open = new WeakMap<CommandContext, OpenSpan>();
  readonly #handlers = {
    start: (ctx: CommandContext) => this.#onStart(ctx),
    asyncEnd: (ctx: CommandContext) => this.#onEnd(ctx),
  };
  #subscribed = false;

  /**
   * An instrumentation that listens to memcachio's requests at once, unless `config.enabled` is false.
   * @param config `enabled` (default true), `captureKeys`, `requireParentSpan`.
   */
  constructor(config: MemcachioInstrumentationConfig = {}) {
    // The base class would enable it from its constructor, before the fields above exist: it is
    // enabled here instead, once they do.
    super(SCOPE, SCOPE_VERSION, { ...config, enabled: false });
    this.setConfig(config);
    if (config.enabled !== false) this.enable();
  }

  /** No module to patch: memcachio publishes on `diagnostics_channel`. */
  protected override init(): undefined {
    return undefined;
  }

  /** Listens to `memcachio:command`. */
  override enable(): void {
    super.enable();
    if (this.#subscribed) return;
    this.#subscribed = true;
    this.#channel.subscribe(this.#handlers as never);
  }

  /** Stops listening; requests under way then end no span. */
  override disable(): void {
    super.disable();
    if (!this.#subscribed) return;
    this.#subscribed = false;
    this.#channel.unsubscribe(this.#handlers as never);
  }

  protected override _updateMetricInstruments(): void {
    this._operationDuration = this.meter.createHistogram("db.client.operation.duration", {
      description: "Duration of database client operations.",
      unit: "s",
      valueType: ValueType.DOUBLE,
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  }

  // A subscriber's exception would reach the process as an uncaught exception: none may leave.
  #onStart(ctx: CommandContext): void {
    try {
      this.#startSpan(ctx);
    } catch (err) {
      this._diag.error("could not start a span", err);
    }
  }

  #onEnd(ctx: CommandContext): void {
    try {
      this.#endSpan(ctx);
    } catch (err) {
      this._diag.error("could not end a span", err);
    }
  }

  #startSpan(ctx: CommandContext): void {
    const config = this.getConfig();
    const parent = context.active();
    if (config.requireParentSpan === true && trace.getSpan(parent) === undefined) return;
    const batch = BATCHES[ctx.command];
    // A batch of one key is one operation (the conventions model it as such).
    const isBatch = batch !== undefined && ctx.keyCount !== 1;
    const operation = batch === undefined ? ctx.command : isBatch ? `BATCH ${batch}` : batch;
    const metricAttributes: Attributes = {
      [DB_SYSTEM_NAME]: "memcached",
      [DB_OPERATION_NAME]: operation,
      ...serverAttributes(ctx.server),
    };
    const attributes: Attributes = { ...metricAttributes };
    if (ctx.server.startsWith("/")) attributes[NETWORK_TRANSPORT] = "unix";
    if (isBatch) attributes[DB_OPERATION_BATCH_SIZE] = ctx.keyCount;
    if (ctx.hedge === true) attributes[MEMCACHIO_HEDGE] = true;
    if (config.captureKeys === true && ctx.keys !== undefined && ctx.keys.length > 0) {
      const single = batch ?? ctx.command;
      attributes[DB_QUERY_TEXT] = ctx.keys.map((key) => `${single} ${key}`).join("; ");
    }
    const port = metricAttributes[SERVER_PORT];
    const name = port === undefined ? operation : `${operation} ${ctx.server}`;
    const span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    this.#open.set(ctx, { span, startedAt: performance.now(), metricAttributes, operation });
  }

  #endSpan(ctx: CommandContext): void {
    const open = this.#open.get(ctx);
    if (open === undefined) return;
    this.#open.delete(ctx);
    const { span, metricAttributes } = open;
    if (ctx.abandoned === true) {
      // Not an operation of the caller's that ended: its call did, another way. No duration either.
      span.setAttribute(MEMCACHIO_ABANDONED, true);
      span.end();
      return;
    }
    if (ctx.error !== undefined) {
      const type = errorType(ctx.error);
      metricAttributes[ERROR_TYPE] = type;
      span.setAttribute(ERROR_TYPE, type);
      const error = ctx.error instanceof Error ? ctx.error : String(ctx.error);
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : error });
    } else if (ctx.hit !== undefined) span.setAttribute(MEMCACHED_HIT, ctx.hit);
    else if (ctx.found !== undefined) {
      if (open.operation === "get") span.setAttribute(MEMCACHED_HIT, ctx.found > 0);
      else span.setAttribute(MEMCACHED_HIT_COUNT, ctx.found);
    }
    span.end();
    this._operationDuration.record((performance.now() - open.startedAt) / 1000, metricAttributes);
  }
}

/**
 * `server.address` and `server.port` of a server label: `"host:port"`, `"[v6]:port"`, or a Unix
 * socket's path (address only). An empty label (no server to send to) gives nothing.
 */
function serverAttributes(label: string): Attributes {
  if (label === "") return {};
  if (label.startsWith("/")) return { [SERVER_ADDRESS]: label };
  const colon = label.lastIndexOf(":");
  const host = label.slice(0, colon);
  const port = Number(label.slice(colon + 1));
  const bracketed = host.startsWith("[") && host.endsWith("]");
  // (Labels always carry a port, and bracket IPv6 hosts; anything else is shown as it is.)
  if (colon <= 0 || !Number.isInteger(port) || (host.includes(":") && !bracketed))
    return { [SERVER_ADDRESS]: label };
  return { [SERVER_ADDRESS]: bracketed ? host.slice(1, -1) : host, [SERVER_PORT]: port };
}

/**
 * `error.type` of a failure: the error's `code` (memcachio's `MC_ERR_*`, the client library's
 * status code), else its class name, else `_OTHER`.
 */
function errorType(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
    const name = error.constructor?.name;
    if (typeof name === "string" && name !== "" && name !== "Object") return name;
  }
  return "_OTHER";
}
