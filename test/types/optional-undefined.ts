/**
 * Type test: under `exactOptionalPropertyTypes`, every optional option takes an explicit `undefined`
 * (a configuration read from the environment is `number | undefined`, and passing it on must
 * compile). Compiled by `npm run typetest` (never run); the run-time side is in
 * test/integration/call-arguments.test.ts.
 */
import {
  type ArithOptions,
  type BigValuesOptions,
  type CallOptions,
  Client,
  type ClientOptions,
  type CompressionOptions,
  type DiscoveryOptions,
  type DnsOptions,
  type FetchOptions,
  type FlushOptions,
  type HedgeOptions,
  type InvalidateOptions,
  type LocalCacheOptions,
  type SetOptions,
  type WarmUpOptions,
} from "../../src/index.ts";
import type { MemcachioInstrumentationConfig } from "../../src/otel.ts";
import type { MetricsOptions } from "../../src/prometheus.ts";

declare const cfg: { timeout: number | undefined; ttl: number | undefined; flag: boolean | undefined };
const u = undefined;

const call: Required<CallOptions> = { timeout: cfg.timeout, signal: u, hashKey: u };
const set: Required<SetOptions> = { ...call, ttl: cfg.ttl };
const arith: Required<ArithOptions> = { ...call, ttl: u, initial: u };
const flush: Required<FlushOptions> = { ...call, delay: u };
const fetch: Required<FetchOptions> = {
  ...call,
  ttl: u,
  lockTtl: u,
  recacheWithin: u,
  staleTtl: u,
  onLockTimeout: u,
};
const invalidate: Required<InvalidateOptions> = { ...call, staleTtl: u };

const compression: Required<CompressionOptions> = {
  threshold: u,
  algorithm: u,
  level: u,
  maxDecompressedSize: u,
};
const dns: Required<DnsOptions> = { servers: u, refreshInterval: u, timeout: u };
const discovery: DiscoveryOptions = { endpoint: "127.0.0.1:11211", interval: u };
const warmUp: WarmUpOptions = { window: 1000, copyTtl: u };
const hedge: HedgeOptions = { after: 5, maxExtraLoad: u, budgetWindow: u, minPerSecond: u };
const localCache: LocalCacheOptions = { max: 100, ttl: 1000, staleIfError: u };
const bigValues: Required<BigValuesOptions> = { threshold: u, maxSize: u, reachChunks: u };

// Every client option at once, each `undefined`: the client's defaults apply.
const client: Required<ClientOptions> = {
  servers: u,
  dns: u,
  discovery: u,
  warmUp: u,
  zone: u,
  zoneOf: u,
  protocol: u,
  proxy: u,
  tls: u,
  auth: u,
  hedge: u,
  timeout: cfg.timeout,
  connectTimeout: u,
  socketTimeout: u,
  pool: { min: u, max: u, idleTimeoutMillis: u },
  maxInFlight: u,
  maxQueue: u,
  maxValueSize: u,
  keyPrefix: u,
  codec: u,
  copyBuffers: u,
  compression: u,
  bigValues: u,
  failover: { failureThreshold: u, retryDelay: u, maxRetryDelay: u, eject: cfg.flag },
  gutter: u,
  failOpen: cfg.flag,
  replicas: u,
  retries: { attempts: u, baseDelay: u, maxDelay: u },
  keepAlive: u,
  allowExitOnIdle: u,
  traceKeys: u,
  captureCallSite: u,
  localCache: u,
};

const otel: MemcachioInstrumentationConfig = { captureKeys: u, requireParentSpan: u, enabled: true };
const metrics: MetricsOptions = { registry: u, prefix: u };

async function calls(mc: Client): Promise<void> {
  await mc.set("k", "v", { ttl: cfg.ttl, timeout: cfg.timeout });
  await mc.get("k", { timeout: cfg.timeout });
  await mc.incr("n", 1, { initial: u, ttl: u });
  await mc.fetch("k", () => "v", { ttl: cfg.ttl, recacheWithin: u });
}

void [
  set,
  arith,
  flush,
  fetch,
  invalidate,
  compression,
  dns,
  discovery,
  warmUp,
  hedge,
  localCache,
  bigValues,
];
void [otel, metrics, calls, new Client(client)];
