/**
 * Options of the live topology — the server list, DNS re-resolution, ElastiCache-style
 * auto-discovery, warm-up after scale-out — and of hedged reads across replicas: their user-facing
 * shape, defaults and validation.
 */
import { isIP } from "node:net";
import { InvalidArgumentError } from "../errors.js";
import { checkZone, hostPort, type ServerSpec, type ZoneOf } from "../util/servers.js";
import { type Defined, positive, seconds } from "./arguments.js";
import type { DnsResolver } from "./names.js";

/** The options of {@link ClientOptions} that say where the servers are and how the list is kept current. */
export interface TopologyOptions {
  /**
   * Servers: an array, or one string of comma-separated entries — `"host:port"`, `"[v6]:port"`,
   * `"/path.sock"` or `"unix:///path.sock"` (a Unix socket), `"dns+name:port"` (one server per A/AAAA
   * record of `name`), `"dnssrv+_service._tcp.name"` (one per SRV record). Names are resolved again
   * every `dns.refreshInterval`; `setServers` replaces the list at run time. With `discovery`, the list
   * used until the configuration endpoint first answers (may then be left out). Default, without
   * `discovery`: `"127.0.0.1:11211"`, a memcached on this machine.
   */
  servers?: ServerSpec[] | string | undefined;
  /** How names are resolved: the DNS servers to ask (default: the system's) and how often. */
  dns?: DnsOptions | undefined;
  /**
   * ElastiCache / Memorystore auto-discovery: the configuration endpoint is asked for the cluster's
   * nodes (`config get cluster`) every `interval`, and the server list follows it. Nodes are reached
   * by IP; with `tls`, their certificates are checked against their host names.
   */
  discovery?: DiscoveryOptions | undefined;
  /**
   * Warm-up after the server list changes (off by default): a read that misses on a key's new owner
   * asks its previous owner, and copies a hit over. With `replicas`, a hit read from the next replica
   * after a replica restarted empty is copied back too. See the README's "Live topology".
   */
  warmUp?: WarmUpOptions | undefined;
  /**
   * This client's zone (an availability zone, a rack). With zones on the servers (`"host:port@zone"`,
   * `{ host, port, zone }`, `"dns+name:port@zone"`, or `zoneOf`), a key's replicas go to different
   * zones where the fleet allows, and get and getMany read the copy in this zone first.
   */
  zone?: string | undefined;
  /** The zone of a server whose entry gives none (one found by DNS or discovery), e.g. from its subnet. */
  zoneOf?: ZoneOf | undefined;
}

/** Checks `zone` and `zoneOf`. */
export function zoneOptions(o: TopologyOptions): { zone: string | null; zoneOf: ZoneOf | null } {
  if (o.zoneOf !== undefined && typeof o.zoneOf !== "function") {
    throw new InvalidArgumentError("zoneOf must be a function ({ host, port }) => zone name or undefined");
  }
  return { zone: o.zone === undefined ? null : checkZone(o.zone, "option zone"), zoneOf: o.zoneOf ?? null };
}

/** Hedged reads (see {@link ClientOptions.hedge}). */
export interface HedgeOptions {
  /** ms without an answer before a read is also sent to the next replica, or `"p95"` of its server's recent reads. */
  after: number | "p95";
  /** Most hedges, as a share of reads. Default 0.05. */
  maxExtraLoad?: number | undefined;
  /**
   * How long each read's share of a hedge is kept, ms: a stall can spend at once what the reads of
   * this window earned, and over any such window hedges stay within the budget. Default 10,000.
   */
  budgetWindow?: number | undefined;
  /** Hedges allowed per second on top of the reads' shares, so a quiet client can hedge too. Default 1. */
  minPerSecond?: number | undefined;
}

export function hedgeOptions(h: HedgeOptions | undefined): Defined<HedgeOptions> | null {
  if (h === undefined) return null;
  if (h === null || typeof h !== "object")
    throw new InvalidArgumentError(
      'hedge must be { after: ms | "p95", maxExtraLoad?, budgetWindow?, minPerSecond? }',
    );
  const after = h.after === "p95" ? "p95" : positive("hedge.after", h.after as number, Number.NaN);
  if (Number.isNaN(after)) throw new InvalidArgumentError('hedge.after must be a number of ms or "p95"');
  const load = h.maxExtraLoad ?? 0.05;
  if (!(typeof load === "number" && load > 0 && load <= 1))
    throw new InvalidArgumentError("hedge.maxExtraLoad must be a share of reads, over 0 and at most 1");
  const minPerSecond = h.minPerSecond === 0 ? 0 : positive("hedge.minPerSecond", h.minPerSecond, 1);
  return {
    after,
    maxExtraLoad: load,
    budgetWindow: positive("hedge.budgetWindow", h.budgetWindow, 10_000),
    minPerSecond,
  };
}

/** How names in `servers` are resolved (`dns+`, `dnssrv+` and plain host names). */
export interface DnsOptions {
  /** DNS servers to ask (`"ip"` or `"ip:port"`), as `dns.Resolver#setServers` takes them. Default: the system's. */
  servers?: string[] | undefined;
  /** How often names are resolved again, ms. Default 30,000. */
  refreshInterval?: number | undefined;
  /** How long one DNS query may take, ms (c-ares rounds it up). Default 2,000. */
  timeout?: number | undefined;
}

/** ElastiCache / Memorystore cluster auto-discovery. */
export interface DiscoveryOptions {
  /** The configuration endpoint, `"host:port"` (port 11211 when absent). */
  endpoint: string;
  /** How often the cluster configuration is asked for, ms. Default 60,000 (as AWS's own client). */
  interval?: number | undefined;
}

/** Warm-up after scale-out (mcrouter's WarmUpRoute). */
export interface WarmUpOptions {
  /**
   * For this long after a change of the server list, ms, a read that misses on a key's new owner
   * asks its previous owner; a hit is returned and copied to the new owner with its remaining TTL.
   */
  window: number;
  /** TTL of a copy when the protocol cannot read the remaining one (binary), seconds. Default 60. */
  copyTtl?: number | undefined;
}

export interface ResolvedDns {
  servers: string[] | null;
  refreshInterval: number;
  timeout: number;
  /** The simulator's stand-in for DNS (see `names.ts`); absent: Node's resolver. */
  resolver?: DnsResolver;
}

export interface ResolvedDiscovery {
  host: string;
  port: number;
  interval: number;
}

export interface ResolvedWarmUp {
  window: number;
  copyTtl: number;
}

export function dnsOptions(d: DnsOptions | undefined): ResolvedDns {
  if (d === undefined) return { servers: null, refreshInterval: 30_000, timeout: 2000 };
  if (d === null || typeof d !== "object")
    throw new InvalidArgumentError("dns must be { servers?, refreshInterval?, timeout? }");
  if (d.servers !== undefined) {
    if (!Array.isArray(d.servers) || d.servers.length === 0 || d.servers.some((s) => !isDnsServer(s))) {
      throw new InvalidArgumentError('dns.servers must be a non-empty list of "ip" or "ip:port" strings');
    }
  }
  return {
    servers: d.servers === undefined ? null : [...d.servers],
    refreshInterval: interval("dns.refreshInterval", d.refreshInterval, 30_000),
    timeout: positive("dns.timeout", d.timeout, 2000),
  };
}

export function discoveryOptions(d: DiscoveryOptions | undefined): ResolvedDiscovery | null {
  if (d === undefined) return null;
  if (d === null || typeof d !== "object" || typeof d.endpoint !== "string") {
    throw new InvalidArgumentError('discovery must be { endpoint: "host:port", interval? }');
  }
  const { host, port } = hostPort(d.endpoint, `discovery.endpoint ${JSON.stringify(d.endpoint)}`);
  return {
    host,
    port,
    interval: interval("discovery.interval", d.interval, 60_000),
  };
}

export function warmUpOptions(w: WarmUpOptions | undefined): ResolvedWarmUp | null {
  if (w === undefined) return null;
  if (w === null || typeof w !== "object")
    throw new InvalidArgumentError("warmUp must be { window, copyTtl? }");
  const copyTtl = seconds("warmUp.copyTtl", w.copyTtl, 60, 1);
  if (w.window === undefined) throw new InvalidArgumentError("warmUp.window (ms after a change) is required");
  return { window: positive("warmUp.window", w.window, 0), copyTtl };
}

function isDnsServer(s: unknown): boolean {
  if (typeof s !== "string") return false;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  return m === null ? isIP(s) !== 0 : isIP(m[1]!) !== 0 && Number(m[2]) > 0 && Number(m[2]) < 65536;
}

/** A period for `setInterval`: from 10 ms (a DNS or endpoint storm below) to its largest delay. */
function interval(name: string, v: number | undefined, dflt: number): number {
  const ms = positive(name, v, dflt);
  if (ms < 10 || ms > 2_147_483_647)
    throw new InvalidArgumentError(`${name} must be from 10 ms to 2^31 − 1 ms`);
  return ms;
}
