/**
 * Options of the live topology: DNS re-resolution, ElastiCache-style auto-discovery and warm-up
 * after scale-out — their user-facing shape, defaults and validation.
 */
import { isIP } from "node:net";
import { InvalidArgumentError } from "../errors.js";
import { DEFAULT_PORT } from "../util/servers.js";

/** How names in `servers` are resolved (`dns+`, `dnssrv+` and plain host names). */
export interface DnsOptions {
  /** DNS servers to ask (`"ip"` or `"ip:port"`), as `dns.Resolver#setServers` takes them. Default: the system's. */
  servers?: string[];
  /** How often names are resolved again, ms. Default 30,000. */
  refreshInterval?: number;
  /** How long one DNS query may take, ms (c-ares rounds it up). Default 2,000. */
  timeout?: number;
}

/** ElastiCache / Memorystore cluster auto-discovery. */
export interface DiscoveryOptions {
  /** The configuration endpoint, `"host:port"` (port 11211 when absent). */
  endpoint: string;
  /** How often the cluster configuration is asked for, ms. Default 60,000 (as AWS's own client). */
  interval?: number;
}

/** Warm-up after scale-out (mcrouter's WarmUpRoute). */
export interface WarmUpOptions {
  /**
   * For this long after a change of the server list, ms, a read that misses on a key's new owner
   * asks its previous owner; a hit is returned and copied to the new owner with its remaining TTL.
   */
  window: number;
  /** TTL of a copy when the protocol cannot read the remaining one (binary), seconds. Default 60. */
  copyTtl?: number;
}

export interface ResolvedDns {
  servers: string[] | null;
  refreshInterval: number;
  timeout: number;
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
    refreshInterval: positive("dns.refreshInterval", d.refreshInterval, 30_000),
    timeout: positive("dns.timeout", d.timeout, 2000),
  };
}

export function discoveryOptions(d: DiscoveryOptions | undefined): ResolvedDiscovery | null {
  if (d === undefined) return null;
  if (d === null || typeof d !== "object" || typeof d.endpoint !== "string") {
    throw new InvalidArgumentError('discovery must be { endpoint: "host:port", interval? }');
  }
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(d.endpoint);
  const port = m?.[2] === undefined ? DEFAULT_PORT : Number(m[2]);
  if (m === null || !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new InvalidArgumentError(`discovery.endpoint ${JSON.stringify(d.endpoint)}: give "host:port"`);
  }
  return {
    host: m[1]!.replace(/^\[|\]$/g, ""),
    port,
    interval: positive("discovery.interval", d.interval, 60_000),
  };
}

export function warmUpOptions(w: WarmUpOptions | undefined): ResolvedWarmUp | null {
  if (w === undefined) return null;
  if (w === null || typeof w !== "object")
    throw new InvalidArgumentError("warmUp must be { window, copyTtl? }");
  const copyTtl = positive("warmUp.copyTtl", w.copyTtl, 60);
  if (!Number.isInteger(copyTtl)) throw new InvalidArgumentError("warmUp.copyTtl must be whole seconds");
  return { window: positive("warmUp.window", w.window, 0), copyTtl };
}

function isDnsServer(s: unknown): boolean {
  if (typeof s !== "string") return false;
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  return m === null ? isIP(s) !== 0 : isIP(m[1]!) !== 0 && Number(m[2]) > 0 && Number(m[2]) < 65536;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0))
    throw new InvalidArgumentError(`${name} must be a positive number`);
  return v;
}
