/**
 * Server addresses: parsing of `"host:port"`, `"[v6]:port"`, `"host"`, `"a:1,b:2"` and objects.
 */
import { InvalidArgumentError } from "../errors.js";

/** A server: `"host:port"`, `"[v6addr]:port"`, `"host"` (port 11211) or an object. */
export type ServerSpec = string | { host: string; port?: number; weight?: number };

/** A parsed server address. */
export interface ServerAddress {
  host: string;
  port: number;
  weight: number;
}

/** Default port of memcached. */
export const DEFAULT_PORT = 11211;

/** `"host:port"` label of an address (IPv6 hosts in brackets). */
export function labelOf(a: { host: string; port: number }): string {
  return `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Parses `servers` into addresses. */
export function parseServers(spec: ServerSpec[] | string): ServerAddress[] {
  const list =
    typeof spec === "string"
      ? spec
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : spec;
  if (!Array.isArray(list) || list.length === 0)
    throw new InvalidArgumentError("servers: give at least one server");
  return list.map(parseServer);
}

function parseServer(s: ServerSpec): ServerAddress {
  if (typeof s === "object" && s !== null) {
    const port = s.port ?? DEFAULT_PORT;
    checkPort(port, JSON.stringify(s));
    const weight = s.weight ?? 1;
    if (!(Number.isFinite(weight) && weight > 0))
      throw new InvalidArgumentError(`server weight must be > 0: ${weight}`);
    if (typeof s.host !== "string" || s.host === "")
      throw new InvalidArgumentError("server host must be a string");
    return { host: s.host, port, weight };
  }
  if (typeof s !== "string" || s === "") throw new InvalidArgumentError(`bad server: ${String(s)}`);
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6 !== null) {
    host = v6[1]!;
    portText = v6[2];
  } else {
    const i = s.lastIndexOf(":");
    if (i > 0 && s.indexOf(":") === i) {
      host = s.slice(0, i);
      portText = s.slice(i + 1);
    } else {
      host = s; // bare host, or a bare IPv6 address without port
    }
  }
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  checkPort(port, s);
  return { host, port, weight: 1 };
}

function checkPort(port: number, where: string): void {
  if (!(Number.isInteger(port) && port > 0 && port < 65536))
    throw new InvalidArgumentError(`bad port in server ${where}`);
}
