/** The CLI's command line: what each command takes, read into a {@link Command}, and its help. */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type ClientOptions, DEFAULT_SERVER } from "../options.js";
import { checkPrefix, DEFAULT_PREFIX } from "../prometheus/names.js";
import { labelOf, parseServers } from "../util/servers.js";

/** Printed (to stderr) after a usage error. */
export const USAGE =
  "usage: memcachio check|stats [host:port[,host:port…]] [options] | memcachio dashboard|alerts [--prefix p] | memcachio --help | --version";

/** `--help`. */
export function helpText(version: string): string {
  return `memcachio ${version}: check memcached servers, show their stats, and monitor memcachio clients

usage:
  memcachio check [servers] [--timeout ms] [--warn ms] [--protocol p] [--tls] [--tls-ca file]
  memcachio stats [servers] [--group name] [--timeout ms] [--protocol p] [--tls] [--tls-ca file]
  memcachio dashboard [--prefix memcachio_]
  memcachio alerts [--prefix memcachio_]
  memcachio --help | --version

commands:
  check      asks each server for its version, on a connection of its own, within --timeout, and
             prints one line (Nagios plugin format); exit 0 OK, 1 WARNING (some down, or slower than
             --warn), 2 CRITICAL (none up), 3 UNKNOWN (bad usage)
  stats      prints each server's stats side by side, then why a server did not answer; exit 0,
             1 (some down), 2 (none answered), 3 (a server refused the --group)
  dashboard  prints a Grafana dashboard (JSON) for the metrics of memcachio/prometheus
  alerts     prints Prometheus alerting rules (YAML) for the same metrics

options:
  servers          host:port[,host:port…], or several arguments; [v6]:port and /path.sock too
                   (default ${DEFAULT_SERVER}, where new Client() looks)
  --timeout ms     deadline of each server's answer, connecting included (default 1000)
  --warn ms        check: WARNING when a server answers slower than this (default: off)
  --protocol p     meta (default), binary or text
  --tls            TLS, the server's certificate verified against the system CAs
  --tls-ca file    TLS, the server's certificate verified against the CA certificates (PEM) in file
  --group name     stats: a stats group (slabs, items, sizes, conns, settings, …)
  --prefix p       dashboard, alerts: the prefix given to collectMetrics (default memcachio_)
`;
}

/** What a server command needs: the servers and the client options to reach them with. */
export interface ServerArgs {
  labels: string[];
  /** One connection, no retries, `--timeout` as the deadline of connecting and of each answer. */
  options: Partial<ClientOptions>;
}

/** A command line, read. */
export type Command =
  | { command: "help" }
  | { command: "version" }
  | ({ command: "check" /** ms; Infinity when off. */; warn: number } & ServerArgs)
  | ({ command: "stats"; group: string } & ServerArgs)
  | { command: "dashboard" | "alerts"; prefix: string };

/** A command line that cannot be run; the message says what is wrong. */
export class UsageError extends Error {}

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  timeout: { type: "string" },
  warn: { type: "string" },
  protocol: { type: "string" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
  group: { type: "string" },
  prefix: { type: "string" },
} as const;

type Option = keyof typeof OPTIONS;

const CONNECTING: Option[] = ["timeout", "protocol", "tls", "tls-ca"];
/** The options each command takes. */
const TAKES: Record<string, Option[]> = {
  check: [...CONNECTING, "warn"],
  stats: [...CONNECTING, "group"],
  dashboard: ["prefix"],
  alerts: ["prefix"],
};

const read = (argv: string[]) =>
  parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });

/** Reads `argv` (without node and the script); throws {@link UsageError}. */
export function parseCommand(argv: string[]): Command {
  let parsed: ReturnType<typeof read>;
  try {
    parsed = read(argv);
  } catch (err) {
    // Node's first sentence says it ("Unknown option '--x'"); the rest is advice about `--`.
    throw new UsageError((err as Error).message.split(". ")[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { command: "help" };
  if (values.version === true) return { command: "version" };
  const [command, ...rest] = positionals;
  const takes = command === undefined ? undefined : TAKES[command];
  if (command === undefined || takes === undefined) {
    throw new UsageError(command === undefined ? "no command given" : `unknown command ${command}`);
  }
  for (const name of Object.keys(values) as Option[]) {
    if (!takes.includes(name)) throw new UsageError(`${command} does not take --${name}`);
  }
  if (command === "dashboard" || command === "alerts") {
    if (rest.length > 0) throw new UsageError(`${command} takes no servers`);
    try {
      return { command, prefix: checkPrefix(values.prefix ?? DEFAULT_PREFIX) };
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const server = serverArgs(rest, values);
  if (command === "stats") return { command, group: values.group ?? "", ...server };
  const warn = values.warn === undefined ? Number.POSITIVE_INFINITY : Number(values.warn);
  if (!(warn > 0)) throw new UsageError("--warn must be a positive number of ms");
  return { command: "check", warn, ...server };
}

function serverArgs(
  rest: string[],
  values: { timeout?: string; protocol?: string; tls?: boolean; "tls-ca"?: string },
): ServerArgs {
  let labels: string[];
  try {
    // No server given: the one a client with no servers talks to.
    labels = parseServers(rest.length === 0 ? DEFAULT_SERVER : rest.join(",")).map(labelOf);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const timeout = values.timeout === undefined ? 1000 : Number(values.timeout);
  if (!(timeout > 0 && timeout < 2 ** 31)) throw new UsageError("--timeout must be a positive number of ms");
  const protocol = values.protocol ?? "meta";
  if (protocol !== "meta" && protocol !== "binary" && protocol !== "text")
    throw new UsageError("--protocol must be meta, binary or text");
  const caFile = values["tls-ca"];
  let tls: ClientOptions["tls"] = values.tls === true;
  if (caFile !== undefined) {
    try {
      tls = { ca: readFileSync(caFile, "utf8") };
    } catch (err) {
      throw new UsageError(`cannot read --tls-ca ${caFile}: ${(err as Error).message}`);
    }
  }
  return {
    labels,
    options: {
      protocol,
      tls,
      timeout,
      connectTimeout: timeout,
      retries: { attempts: 0 },
      pool: { min: 1, max: 1 },
    },
  };
}
