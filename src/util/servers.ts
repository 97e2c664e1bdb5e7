/**
 * Server entries: parsing of `"host:port"`, `"[v6]:port"`, `"host"`, `"/path.sock"`,
 * `"unix:///path.sock"`, `"dns+name:port"`, `"dnssrv+_svc._tcp.name"`, `"a:1,b:2"` and objects.
 * A plain entry is one server; a `dns+`/`dnssrv+` entry stands for the servers its records name
 * (resolved by the client's topology, not here).
 */
import { InvalidArgumentError } from "../errors.js";

/**
 * A server: `"host:port"`, `"[v6addr]:port"`, `"host"` (port 11211), a Unix socket (`"/path"`,
 * `"unix:///path"`), a DNS name expanded into one server per A/AAAA record (`"dns+name:port"`) or per
 * SRV record (`"dnssrv+_service._tcp.name"`), or an object.
 */
export type ServerSpec =
  | string
  | {
      /** Host name or IP address (one starting with `/` is taken as a Unix socket's path). */
      host?: string | undefined;
      /** TCP port. Default 11211. */
      port?: number | undefined;
      /** Path of a Unix domain socket, in place of `host` and `port`. */
      path?: string | undefined;
      /** The server's share of the keys relative to the others' (ketama weight), above 0. Default 1. */
      weight?: number | undefined;
      /** Its zone (an availability zone, a rack): with zones, a key's replicas go to different zones. */
      zone?: string | undefined;
    };

/** Where a server on the list came from (shown by `health()`). */
export type ServerSource = "static" | "dns" | "srv" | "discovery";

/** A parsed server address. */
export interface ServerAddress {
  /** Host name or IP; for a Unix socket, its path. */
  host: string;
  /** TCP port; 0 for a Unix socket (libmemcached's convention, which its ring placement follows). */
  port: number;
  weight: number;
  /** Path of a Unix domain socket, when the server is one. */
  path?: string | undefined;
  /** Name to verify a TLS certificate against when `host` is an IP (discovery connects by IP). */
  servername?: string | undefined;
  /** Where the entry came from; `"static"` when absent. */
  source?: ServerSource | undefined;
  /** Its zone; see {@link ServerSpec}. */
  zone?: string | undefined;
}

/** The zone of a server whose entry gave none (one found by DNS or discovery), or undefined. */
export type ZoneOf = (server: { host: string; port: number }) => string | undefined;

/** A `dns+` or `dnssrv+` entry: a name whose records are the servers. */
export interface DnsEntry {
  kind: "dns" | "srv";
  /** The name to resolve (without the prefix). */
  name: string;
  /** Port of every server (`dns+`); SRV records carry their own. */
  port: number;
  weight: number;
  /** Zone of every server it names (`@zone` in the entry), if given. */
  zone?: string | undefined;
  /** The entry as written. */
  spec: string;
}

/** Default port of memcached. */
export const DEFAULT_PORT = 11211;

/** `"host:port"` label of an address (IPv6 hosts in brackets); a Unix socket's label is its path. */
export function labelOf(a: { host: string; port: number; path?: string | undefined }): string {
  if (a.path !== undefined) return a.path;
  return `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Parses `servers` into addresses; a `dns+`/`dnssrv+` entry is an error here (nothing resolves it). */
export function parseServers(spec: ServerSpec[] | string): ServerAddress[] {
  const { addresses, names } = parseServerList(spec);
  if (names.length > 0) {
    throw new InvalidArgumentError(
      `${names[0]!.spec}: DNS entries are resolved by a Client, not here; give host:port entries`,
    );
  }
  return addresses;
}

/** Parses `servers` into fixed addresses and DNS names to expand; at least one entry. */
export function parseServerList(spec: ServerSpec[] | string): {
  addresses: ServerAddress[];
  names: DnsEntry[];
} {
  const list =
    typeof spec === "string"
      ? spec
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
      : spec;
  if (!Array.isArray(list) || list.length === 0)
    throw new InvalidArgumentError("servers: give at least one server");
  const addresses: ServerAddress[] = [];
  const names: DnsEntry[] = [];
  for (const s of list) {
    if (typeof s === "string" && (s.startsWith("dns+") || s.startsWith("dnssrv+"))) {
      const [entry, zone] = splitZone(s);
      names.push(zone === undefined ? parseDns(entry) : { ...parseDns(entry), zone });
    } else addresses.push(parseServer(s));
  }
  return { addresses, names };
}

/** A Unix socket address. */
export function unixAddress(path: string, weight = 1): ServerAddress {
  if (!path.startsWith("/") || path.includes("\0"))
    throw new InvalidArgumentError(`bad Unix socket path ${JSON.stringify(path)}: give an absolute path`);
  return { host: path, port: 0, path, weight };
}

/** `"entry@zone"` as `[entry, zone]` (no zone: `[s, undefined]`); Unix socket paths carry none. */
function splitZone(s: string): [string, string | undefined] {
  const at = s.lastIndexOf("@");
  if (at < 0 || s.startsWith("/") || s.startsWith("unix://")) return [s, undefined];
  return [s.slice(0, at), checkZone(s.slice(at + 1), s)];
}

/** A zone name: letters, digits and `_.:-` (as cloud providers name theirs). */
export function checkZone(zone: unknown, where: string): string {
  if (typeof zone !== "string" || !/^[A-Za-z0-9_.:-]{1,64}$/.test(zone)) {
    throw new InvalidArgumentError(
      `bad zone in server ${where}: give a name of letters, digits and _.:- such as "us-east-1a"`,
    );
  }
  return zone;
}

function parseServer(s: ServerSpec): ServerAddress {
  if (typeof s === "object" && s !== null && s.zone !== undefined) {
    const { zone, ...rest } = s;
    return { ...parseServer(rest), zone: checkZone(zone, JSON.stringify(s)) };
  }
  if (typeof s === "string" && s.includes("@") && !s.startsWith("/") && !s.startsWith("unix://")) {
    const [entry, zone] = splitZone(s);
    return { ...parseServer(entry), zone };
  }
  if (typeof s === "object" && s !== null) {
    const weight = s.weight ?? 1;
    if (!(Number.isFinite(weight) && weight > 0))
      throw new InvalidArgumentError(`server weight must be > 0: ${weight}`);
    if (s.path !== undefined) {
      if (typeof s.path !== "string") throw new InvalidArgumentError("server path must be a string");
      return unixAddress(s.path, weight);
    }
    const port = s.port ?? DEFAULT_PORT;
    checkPort(port, JSON.stringify(s));
    if (typeof s.host !== "string" || s.host === "")
      throw new InvalidArgumentError("server host must be a string (or give path for a Unix socket)");
    if (s.host.startsWith("/")) return unixAddress(s.host, weight);
    return { host: s.host, port, weight };
  }
  if (typeof s !== "string" || s === "") throw new InvalidArgumentError(`bad server: ${String(s)}`);
  if (s.startsWith("/")) return unixAddress(s);
  if (s.startsWith("unix://")) return unixAddress(s.slice("unix://".length));
  const { host, port } = hostPort(s, s);
  return { host, port, weight: 1 };
}

function parseDns(s: string): DnsEntry {
  if (s.startsWith("dnssrv+")) {
    const name = s.slice("dnssrv+".length);
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.includes(":"))
      throw new InvalidArgumentError(`bad SRV entry ${s}: give dnssrv+_service._tcp.name (no port)`);
    return { kind: "srv", name, port: 0, weight: 1, spec: s };
  }
  const { host, port } = hostPort(s.slice("dns+".length), s);
  if (!/^[A-Za-z0-9_.-]+$/.test(host))
    throw new InvalidArgumentError(`bad DNS entry ${s}: give dns+name:port`);
  return { kind: "dns", name: host, port, weight: 1, spec: s };
}

/** `host[:port]` or `[v6][:port]` (port 11211 when absent); `where` names it in errors. */
export function hostPort(s: string, where: string): { host: string; port: number } {
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
  if (host === "") throw new InvalidArgumentError(`bad server ${where}: no host`);
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  checkPort(port, where);
  return { host, port };
}

function checkPort(port: number, where: string): void {
  if (!(Number.isInteger(port) && port > 0 && port < 65536))
    throw new InvalidArgumentError(`bad port in server ${where}`);
}

/** `addresses` less repeats, each with its zone (`zoneOf`'s when its entry gave none). */
export function distinctServers(addresses: ServerAddress[], zoneOf: ZoneOf | null): ServerAddress[] {
  const seen = new Set<string>();
  const out: ServerAddress[] = [];
  for (const a of addresses) {
    const label = labelOf(a);
    if (seen.has(label)) continue;
    seen.add(label);
    const given = a.zone === undefined ? zoneOf?.({ host: a.host, port: a.port }) : undefined;
    out.push(given === undefined ? a : { ...a, zone: checkZone(given, `${label} (from zoneOf)`) });
  }
  return out;
}
