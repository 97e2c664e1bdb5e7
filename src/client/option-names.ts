/**
 * The names each options object may carry. A misspelt option in JavaScript (`{ timout: 5 }`) would
 * otherwise be ignored and its default used without a word; TypeScript users are told by the compiler,
 * JavaScript users by this check. The tables are typed as records of the interfaces' keys, so an option
 * added to an interface without its name here does not compile.
 */
import type { BigValuesOptions } from "./big-value-options.js";
import type { LocalCacheOptions } from "./local-cache.js";
import type { ClientOptions, FailoverOptions } from "../options.js";
import type { CompressionOptions } from "../serialization/compression.js";
import type { DiscoveryOptions, DnsOptions, HedgeOptions, WarmUpOptions } from "./topology-options.js";
import type { AuthOptions } from "./wire-options.js";
import { InvalidArgumentError } from "../errors.js";

type Names<T> = { readonly [K in keyof Required<T>]: true };

const CLIENT: Names<ClientOptions> = {
  servers: true,
  dns: true,
  discovery: true,
  warmUp: true,
  zone: true,
  zoneOf: true,
  protocol: true,
  proxy: true,
  tls: true,
  auth: true,
  hedge: true,
  timeout: true,
  connectTimeout: true,
  socketTimeout: true,
  pool: true,
  maxInFlight: true,
  maxQueue: true,
  maxValueSize: true,
  keyPrefix: true,
  codec: true,
  copyBuffers: true,
  compression: true,
  bigValues: true,
  failover: true,
  gutter: true,
  failOpen: true,
  replicas: true,
  retries: true,
  keepAlive: true,
  allowExitOnIdle: true,
  traceKeys: true,
  captureCallSite: true,
  localCache: true,
};

/** Nested option objects, by the option that holds them (`tls` is Node's own and passes through). */
const NESTED: { readonly [K in keyof ClientOptions]?: Readonly<Record<string, true>> } = {
  pool: { min: true, max: true, idleTimeoutMillis: true, reconnectIdleMillis: true } satisfies Names<
    NonNullable<ClientOptions["pool"]>
  >,
  failover: {
    failureThreshold: true,
    retryDelay: true,
    maxRetryDelay: true,
    eject: true,
  } satisfies Names<FailoverOptions>,
  gutter: { servers: true, ttl: true } satisfies Names<NonNullable<ClientOptions["gutter"]>>,
  retries: { attempts: true, baseDelay: true, maxDelay: true } satisfies Names<
    NonNullable<ClientOptions["retries"]>
  >,
  localCache: { max: true, ttl: true, staleIfError: true } satisfies Names<LocalCacheOptions>,
  compression: {
    threshold: true,
    algorithm: true,
    level: true,
    maxDecompressedSize: true,
  } satisfies Names<CompressionOptions>,
  bigValues: { threshold: true, maxSize: true, reachChunks: true } satisfies Names<BigValuesOptions>,
  hedge: {
    after: true,
    maxExtraLoad: true,
    budgetWindow: true,
    minPerSecond: true,
  } satisfies Names<HedgeOptions>,
  dns: { servers: true, refreshInterval: true, timeout: true } satisfies Names<DnsOptions>,
  discovery: { endpoint: true, interval: true } satisfies Names<DiscoveryOptions>,
  warmUp: { window: true, copyTtl: true } satisfies Names<WarmUpOptions>,
  auth: { username: true, password: true } satisfies Names<AuthOptions>,
};

/** Throws {@link InvalidArgumentError} naming the first option `o` has that the client does not know. */
export function checkOptionNames(o: object): void {
  check("", o, CLIENT);
  for (const [name, known] of Object.entries(NESTED)) {
    const value = (o as Record<string, unknown>)[name];
    if (value !== null && typeof value === "object" && !Array.isArray(value)) check(`${name}.`, value, known);
  }
}

function check(path: string, o: object, known: Readonly<Record<string, true>>): void {
  for (const name of Object.keys(o)) {
    if (Object.hasOwn(known, name)) continue;
    const near = nearestName(name, Object.keys(known));
    const hint = near === undefined ? "" : ` Did you mean "${path}${near}"?`;
    throw new InvalidArgumentError(
      `unknown option "${path}${name}".${hint} The options are listed in the README under "Options".`,
    );
  }
}

/** The known name closest to `name` (same letters ignoring case, or at most two edits away). */
export function nearestName(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = k.toLowerCase() === name.toLowerCase() ? 0 : distance(k, name);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (names are short: one row is enough). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
