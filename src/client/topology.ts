/**
 * Where the server list comes from, and keeping it current: the user's entries (`setServers`,
 * `addServer`, `removeServer`), `dns+`/`dnssrv+` names resolved again on a schedule, plain host
 * names checked on the same schedule (connections to a name whose addresses changed are replaced),
 * and ElastiCache-style auto-discovery polled every `discovery.interval`. Every source hands the
 * membership a whole list; a source that fails keeps its last good servers and reports the error,
 * so a failing DNS server or endpoint never empties the ring.
 */
import { isIP } from "node:net";
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import type { Membership, TopologyChange } from "../cluster/membership.js";
import type { Transport } from "../connection/transport.js";
import { InvalidArgumentError, NoServersError, ProtocolError } from "../errors.js";
import {
  type DnsEntry,
  labelOf,
  parseServerList,
  type ServerAddress,
  type ServerSpec,
} from "../util/servers.js";
import { addressOf, askClusterConfig, sameList } from "./discovery.js";
import { checkHost } from "./host-checks.js";
import type { TopologyCounts } from "./health.js";
import type { FamilyAnswer, Names } from "./names.js";
import type { ResolvedDiscovery, ResolvedDns } from "./topology-options.js";

/** The first wait before asking DNS again for a name that has not answered yet, ms. */
const FIRST_RETRY_MS = 50;

/** What made the list change. */
export type TopologyReason = "setServers" | "addServer" | "removeServer" | "dns" | "discovery";

/** What the topology reports. */
export interface TopologyEvents {
  change(change: TopologyChange & { reason: TopologyReason }): void;
  /** A source failed (its last good servers stay): `entry` is the DNS entry or the endpoint. */
  error(source: "dns" | "discovery", entry: string, error: Error): void;
}

/** What the topology is built from. */
export interface TopologyOptions {
  servers: ServerAddress[];
  names: DnsEntry[];
  dns: ResolvedDns;
  discovery: ResolvedDiscovery | null;
  tls: TlsConnectionOptions | null;
  connectTimeout: number;
  /** The simulator's sockets (see `transport.ts`), for the discovery endpoint too; null: the network. */
  transport: Transport | null;
}

export class Topology {
  readonly names: Names;
  /** Changes of the list, and failures of each source (for metrics). */
  readonly counts: Omit<TopologyCounts, "warmUpHits"> = { changes: 0, dnsErrors: 0, discoveryErrors: 0 };
  readonly #membership: Membership;
  readonly #events: TopologyEvents;
  readonly #o: TopologyOptions;
  #fixed: ServerAddress[];
  #entries: DnsEntry[];
  /** Last good servers of each DNS entry, by the entry as written. */
  readonly #resolved = new Map<string, ServerAddress[]>();
  /** Last answered addresses of each family of each `dns+` entry: a family whose query fails keeps them. */
  readonly #families = new Map<string, { v4?: string[]; v6?: string[] }>();
  /** The discovered nodes, once the endpoint has answered. */
  #discovered: ServerAddress[] | null = null;
  #version = -1;
  #legacy = false;
  #timers: NodeJS.Timeout[] = [];
  /** The next try of a first resolution that has not been answered yet. */
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** Changes of the list, one after the other. */
  #ops: Promise<unknown> = Promise.resolve();
  #refreshing = false;
  #polling = false;
  /** Aborts a discovery poll under way when the client closes. */
  readonly #stop = new AbortController();

  constructor(o: TopologyOptions, names: Names, membership: Membership, events: TopologyEvents) {
    this.#o = o;
    this.#fixed = o.servers;
    this.#entries = o.names;
    this.#membership = membership;
    this.#events = events;
    this.names = names;
  }

  /**
   * Starts the schedules; returns the first resolution of the sources the list waits for (DNS names,
   * the discovery endpoint), or null when the list is complete already.
   */
  start(): Promise<void> | null {
    const every = (ms: number, run: () => Promise<unknown>) => {
      const t = setInterval(() => void run().catch(() => undefined), ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.#o.dns.refreshInterval, () => this.refresh());
    const names = this.#entries.length > 0 ? this.#firstAnswers() : null;
    if (this.#o.discovery === null) return names;
    every(this.#o.discovery.interval, () => this.poll());
    const polled = this.poll();
    // With servers of its own, the client uses them until the endpoint first answers.
    return this.#fixed.length > 0 || names !== null ? names : polled;
  }

  /**
   * Resolves the DNS entries until each has been answered once, again after a short wait that doubles
   * up to `dns.refreshInterval` (a lost first answer would otherwise leave the client without servers
   * for a whole interval). Settles as soon as the list has a server or every entry has answered.
   */
  #firstAnswers(): Promise<void> {
    this.#membership.whyEmpty = `${this.#entries.map((n) => n.spec).join(", ")} has not resolved yet`;
    return new Promise((listKnown) => {
      const attempt = async (wait: number): Promise<void> => {
        // A refresh reports its own failures; one that throws is one more try, never an unhandled rejection.
        await this.refresh().catch(() => undefined);
        const answered = this.#entries.every((n) => this.#resolved.has(n.spec));
        if (answered || this.#closed || this.#membership.servers.length > 0) listKnown();
        if (answered || this.#closed) return;
        const next = Math.min(wait * 2, this.#o.dns.refreshInterval);
        this.#retry = setTimeout(() => void attempt(next), wait);
        this.#retry.unref();
      };
      void attempt(FIRST_RETRY_MS);
    });
  }

  /** Replaces the user's list (the same forms as the `servers` option). */
  setServers(spec: ServerSpec[] | string): Promise<TopologyChange> {
    return this.#serial(() => this.#set(spec, "setServers"));
  }

  /** Adds one entry to the user's list. */
  addServer(spec: ServerSpec): Promise<TopologyChange> {
    return this.#serial(() =>
      this.#set([...this.#fixed, ...this.#entries.map((n) => n.spec), spec], "addServer"),
    );
  }

  /** Removes one entry (as written, or the `host:port` label of a fixed server) from the user's list. */
  removeServer(spec: ServerSpec): Promise<TopologyChange> {
    return this.#serial(() => {
      this.#notDiscovered("removeServer");
      const { addresses, names } = parseServerList([spec]);
      const gone = new Set([...addresses.map(labelOf), ...names.map((n) => n.spec)]);
      const rest = [
        ...this.#fixed.filter((a) => !gone.has(labelOf(a))),
        ...this.#entries.filter((n) => !gone.has(n.spec)).map((n) => n.spec),
      ];
      if (rest.length === this.#fixed.length + this.#entries.length) {
        const from = this.#membership.servers.find((x) => gone.has(labelOf(x.address)))?.address.source;
        throw new InvalidArgumentError(
          from === undefined || from === "static"
            ? `removeServer: ${JSON.stringify(spec)} is not on the list`
            : `removeServer: ${JSON.stringify(spec)} comes from a ${from} entry: remove that entry (as written) instead`,
        );
      }
      return this.#set(rest, "removeServer");
    });
  }

  /** Runs `op` after the changes asked before it: each starts from the list the one before left. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#ops.then(op);
    this.#ops = run.catch(() => undefined);
    return run;
  }

  /** Makes `spec` the user's list; on failure the old one stays. */
  async #set(spec: ServerSpec[] | string, reason: TopologyReason): Promise<TopologyChange> {
    this.#notDiscovered(reason);
    const { addresses, names } = parseServerList(spec);
    const [, unresolved] = await Promise.all([
      Promise.all(names.filter((n) => !this.#resolved.has(n.spec)).map((n) => this.#resolve(n))),
      this.#unresolvedHosts(addresses),
    ]);
    const reachable =
      addresses.length -
      unresolved.length +
      names.filter((n) => (this.#resolved.get(n.spec)?.length ?? 0) > 0).length;
    if (reachable === 0 && addresses.length + names.length > 0) {
      const why = [...unresolved, ...names.map((n) => `${n.spec} did not resolve`)].join("; ");
      throw new NoServersError(`${reason}: no entry resolved to a server (${why}); the old list stays`);
    }
    const [fixed, entries] = [this.#fixed, this.#entries];
    this.#fixed = addresses;
    this.#entries = names;
    try {
      const change = await this.#apply(reason);
      for (const spec of [...this.#resolved.keys()]) {
        if (names.some((n) => n.spec === spec)) continue;
        this.#resolved.delete(spec);
        this.#families.delete(spec);
      }
      return change;
    } catch (err) {
      [this.#fixed, this.#entries] = [fixed, entries];
      throw err;
    }
  }

  /** Resolves every DNS entry and plain host name again; applies what changed. */
  async refresh(): Promise<void> {
    if (this.#closed || this.#refreshing) return;
    this.#refreshing = true;
    try {
      await Promise.all([...this.#entries.map((n) => this.#resolve(n)), this.#checkHosts()]);
      if (this.#entries.length > 0 && this.#discovered === null) await this.#serial(() => this.#apply("dns"));
    } finally {
      this.#refreshing = false;
    }
  }

  /** Asks the discovery endpoint once; applies a new configuration. */
  async poll(): Promise<void> {
    const d = this.#o.discovery;
    if (d === null || this.#closed || this.#polling) return;
    this.#polling = true;
    const where = `${d.host}:${d.port}`;
    try {
      const config = await askClusterConfig(
        {
          host: d.host,
          port: d.port,
          tls: this.#o.tls,
          timeout: 2 * this.#o.connectTimeout,
          transport: this.#o.transport,
        },
        this.#legacy,
        this.#stop.signal,
      );
      this.#legacy = config.legacy;
      if (config.version < this.#version) {
        throw new ProtocolError(
          `configuration version ${config.version} is older than the one applied (${this.#version}): ignored, the list stays`,
        );
      }
      if (config.nodes.length === 0) {
        throw new InvalidArgumentError(
          `configuration version ${config.version} lists no nodes: keeping the current list`,
        );
      }
      const nodes = config.nodes.map(addressOf);
      if (config.version === this.#version && sameList(nodes, this.#discovered)) return;
      this.#version = config.version;
      this.#discovered = nodes;
      await this.#serial(() => this.#apply("discovery"));
    } catch (err) {
      if (this.#closed) return;
      this.counts.discoveryErrors++;
      this.#events.error("discovery", where, err as Error);
      this.#membership.whyEmpty = `discovery endpoint ${where}: ${(err as Error).message}`;
    } finally {
      this.#polling = false;
    }
  }

  /** Stops every schedule. */
  close(): void {
    this.#closed = true;
    this.#stop.abort();
    for (const t of this.#timers) clearInterval(t);
    clearTimeout(this.#retry);
    this.#timers = [];
    this.names.close();
  }

  async #apply(reason: TopologyReason): Promise<TopologyChange> {
    const list = this.#discovered ?? [
      ...this.#fixed,
      ...this.#entries.flatMap((n) => this.#resolved.get(n.spec) ?? []),
    ];
    if (list.length === 0) {
      // Never empty the ring: a list whose every entry failed to resolve changes nothing.
      if (reason === "dns" || reason === "discovery") return { added: [], removed: [] };
      throw new NoServersError(
        `${reason}: no entry resolved to a server (${this.#membership.whyEmpty}); the old list stays`,
      );
    }
    const change = await this.#membership.setServers(list, reason);
    if (change.added.length > 0 || change.removed.length > 0 || change.reweighted !== undefined) {
      this.counts.changes++;
      this.#events.change({ ...change, reason });
    }
    return change;
  }

  async #resolve(entry: DnsEntry): Promise<void> {
    try {
      if (entry.kind === "srv") {
        const servers = await this.names.expandSrv(entry);
        if (servers.length === 0) this.#noRecords(entry, "SRV");
        this.#resolved.set(entry.spec, servers);
      } else this.#resolved.set(entry.spec, await this.#byFamily(entry));
    } catch (err) {
      this.counts.dnsErrors++;
      const error = err as Error;
      const kept = this.#resolved.get(entry.spec)?.length ?? 0;
      error.message = `${entry.spec} did not resolve (${error.message}); keeping its ${kept} last known servers`;
      if (!this.#closed) this.#events.error("dns", entry.spec, error);
      this.#membership.whyEmpty = error.message;
    }
  }

  /**
   * The servers of a `dns+` entry, family by family: a family DNS answered for gets its answer (no
   * records included); a family whose query failed keeps its last answer and is reported. Rejects only
   * when no family has ever been answered.
   */
  async #byFamily(entry: DnsEntry): Promise<ServerAddress[]> {
    const answers = await this.names.families(entry.name);
    const last = this.#families.get(entry.spec) ?? {};
    const now: { v4?: string[]; v6?: string[] } = {};
    const failed: [string, Error][] = [];
    for (const [family, record] of [
      ["v4", "A"],
      ["v6", "AAAA"],
    ] as const) {
      const answer: FamilyAnswer = answers[family];
      if ("addresses" in answer) now[family] = answer.addresses;
      else {
        failed.push([record, answer.error]);
        if (last[family] !== undefined) now[family] = last[family];
      }
    }
    if (now.v4 === undefined && now.v6 === undefined) throw failed[0]![1];
    this.#families.set(entry.spec, now);
    for (const [record, error] of failed) {
      const kept = (record === "A" ? now.v4 : now.v6)?.length ?? 0;
      this.counts.dnsErrors++;
      error.message = `${entry.spec}: its ${record} query failed (${error.message}); keeping its ${kept} last known ${record} addresses`;
      if (!this.#closed) this.#events.error("dns", entry.spec, error);
    }
    const ips = [...(now.v4 ?? []), ...(now.v6 ?? [])];
    if (ips.length === 0 && failed.length === 0) this.#noRecords(entry, "A or AAAA");
    const { port, weight, zone } = entry;
    return ips.map((ip) => ({ host: ip, port, weight, zone, source: "dns" as const }));
  }

  /** Reports an answer that says `entry` has no record of `what`: its servers leave (never emptying the list). */
  #noRecords(entry: DnsEntry, what: string): void {
    if (this.#closed) return;
    this.counts.dnsErrors++;
    const error = new Error(
      `${entry.spec}: DNS answers that ${entry.name} has no ${what} record; its servers leave the list, unless that would empty it`,
    );
    this.#events.error("dns", entry.spec, error);
    this.#membership.whyEmpty = error.message;
  }

  /** Why each of `addresses` named by a host name that does not resolve now fails (IPs and paths pass). */
  async #unresolvedHosts(addresses: ServerAddress[]): Promise<string[]> {
    const why = await Promise.all(
      addresses.map(async (a) => {
        if (a.path !== undefined || isIP(a.host) !== 0) return null;
        try {
          await this.names.addressesOf(a.host);
          return null;
        } catch (err) {
          return `${a.host} does not resolve (${(err as Error).message})`;
        }
      }),
    );
    return why.filter((w) => w !== null);
  }

  /** Checks the names of `servers` named by a host name (see `host-checks.ts`). */
  async #checkHosts(servers = this.#membership.servers): Promise<void> {
    const named = servers.filter((s) => s.pool.pinnedAddress !== null);
    await Promise.all(
      named.map(async (s) => {
        try {
          await checkHost(s, this.names, () => this.#membership.server(s.label) === s);
        } catch (err) {
          this.counts.dnsErrors++;
          if (!this.#closed) this.#events.error("dns", s.label, err as Error);
        }
      }),
    );
  }

  /**
   * A server went down: named by a host name, its node may have been replaced, so its name is
   * checked now rather than at the next refresh.
   */
  serverDown(label: string): void {
    const s = this.#membership.server(label);
    if (s !== undefined && !this.#closed) void this.#checkHosts([s]);
  }

  #notDiscovered(reason: TopologyReason): void {
    if (this.#o.discovery !== null) {
      throw new InvalidArgumentError(
        `${reason}: this client's server list follows discovery (${this.#o.discovery.host}); create it without the discovery option to set the list by hand`,
      );
    }
  }
}
