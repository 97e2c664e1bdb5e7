/**
 * Where a history's client finds its servers: a plain list (changed by `setServers`, weights and
 * all), one `dns+` entry answered by {@link SimDns} (changed by changing the records, which the
 * client picks up on its next refresh), or an ElastiCache-style configuration endpoint (changed by
 * a new configuration version, picked up on the next poll), or a list of host names looked up again
 * on a schedule. Server `i` is `127.0.0.1:<21000+i>` in a plain list; by DNS, `10.0.0.<i+1>` (an A
 * record) when `i` is even and `fd00::<i+1>` (AAAA) when odd, port 11211; by discovery, node
 * `node<i>.sim` at `10.2.0.<i+1>:11211`; by host name, `node<i>.sim:11211` at `10.3.<r>.<i+1>`, where
 * `r` counts the times the node was replaced (the replaced server keeps running, with its items);
 * with `srv`, those host names are the SRV records of one `dnssrv+` entry.
 */
import { RESOLVER } from "../../src/client/names.ts";
import type { ClientOptions } from "../../src/index.ts";
import type { EndpointMode, Settings, Step } from "./generator.ts";
import { SimDns } from "./sim-dns.ts";
import type { SimNetwork } from "./sim-network.ts";
import { count } from "./tally.ts";

/** How long the client waits for a DNS answer, ms. */
const DNS_TIMEOUT = 150;
/** The configuration endpoint (a host name: the client asks it by name). */
const ENDPOINT = { host: "config.sim", port: 11211 };
const ENDPOINT_LABEL = `${ENDPOINT.host}:${ENDPOINT.port}`;

type Address = { host: string; port: number; weight: number };

export class Fleet {
  readonly dns: SimDns | null;
  readonly #base: Address[];
  readonly #refresh: number;
  readonly #discovery: { interval: number } | null;
  /** With servers named by host name: the times each was replaced (null: listed by address). */
  readonly #replaced: number[] | null;
  /** The host names come from SRV records. */
  readonly #srv: boolean;
  readonly #memory: number;
  readonly #net: SimNetwork;
  /** The endpoint's configuration: its version and which nodes it lists; how it answers. */
  #version = 1;
  #listed: boolean[];
  #mode: EndpointMode = "up";

  constructor(s: Settings, net: SimNetwork) {
    const byDns = s.dns != null;
    const named = s.names != null;
    this.#discovery = s.discovery ?? null;
    this.#net = net;
    this.#memory = s.memory ?? 0;
    this.#base = s.weights.map((weight, i) => ({
      host:
        this.#discovery !== null
          ? `10.2.0.${i + 1}`
          : byDns
            ? dnsHost(i)
            : named
              ? `node${i}.sim`
              : "127.0.0.1",
      port: byDns || named || this.#discovery !== null ? 11211 : 21000 + i,
      weight,
    }));
    this.#listed = this.#base.map(() => true);
    this.#replaced = named ? this.#base.map(() => 0) : null;
    this.#srv = s.names?.srv === true;
    this.dns =
      s.dns != null
        ? new SimDns(DNS_TIMEOUT, s.dns.loseFirst)
        : named
          ? new SimDns(DNS_TIMEOUT, false)
          : null;
    this.#refresh = s.dns?.refresh ?? s.names?.refresh ?? 0;
    if (s.dns != null) this.#records(this.#listed);
    if (this.#discovery !== null) net.server(ENDPOINT_LABEL).config = () => this.#config();
    if (named) {
      for (let i = 0; i < this.#base.length; i++) this.dns!.hosts.set(this.#base[i]!.host, this.#address(i));
      net.addressOf = (host) => this.dns!.hosts.get(host);
      if (this.#srv) this.#srvRecords(this.#listed);
    }
    for (let i = 0; i < this.#base.length; i++) net.server(this.label(i)).memory = this.#memory;
  }

  /** The label of the server that is server `i` now (by host name: the one its name has now). */
  label(i: number): string {
    const a = this.#base[i]!;
    return `${this.#replaced === null ? a.host : this.#address(i)}:${a.port}`;
  }

  /** Server `i`'s address now, when servers are named by host name. */
  #address(i: number): string {
    return `10.3.${this.#replaced![i]!}.${i + 1}`;
  }

  /** The client's `servers` and other options the fleet needs. */
  get options(): Pick<ClientOptions, "servers" | "dns" | "discovery"> {
    if (this.#discovery !== null)
      return { discovery: { endpoint: ENDPOINT_LABEL, interval: this.#discovery.interval } };
    const dns = { refreshInterval: this.#refresh, timeout: DNS_TIMEOUT };
    if (this.#srv) return { servers: ["dnssrv+_memcache._tcp.sim"], dns };
    if (this.#replaced !== null) return { servers: this.#base, dns };
    if (this.dns !== null) return { servers: ["dns+memcached.sim:11211"], dns };
    return { servers: this.#base };
  }

  /** Symbol-keyed options: the simulated resolver. */
  get injected(): object {
    return this.dns === null ? {} : { [RESOLVER]: this.dns };
  }

  /** Applies a list change or a fault of the list's source; returns the list to give `setServers`, if one is. */
  change(step: Step): Address[] | null {
    if (step.op === "dns") {
      if (this.dns !== null)
        this.dns.failure = step.fail === "none" ? null : { family: step.fail, how: step.how };
      return null;
    }
    if (step.op === "endpoint") {
      this.#endpoint(step.how);
      return null;
    }
    if (step.op === "swapNode") {
      if (this.#replaced === null) return null;
      this.#replaced[step.server]!++;
      this.dns!.hosts.set(this.#base[step.server]!.host, this.#address(step.server));
      this.#net.server(this.label(step.server)).memory = this.#memory;
      count("names: a node replaced, the old one still up");
      return null;
    }
    if (step.op !== "list") return null;
    if ((this.dns !== null && this.#replaced === null) || this.#discovery !== null || this.#srv) {
      // Weights are the source's: a new answer only adds and removes servers (each keeps one).
      if (!step.keep.some(Boolean)) return null; // an endpoint never lists no node; DNS may
      this.#listed = step.keep;
      this.#version++;
      if (this.#srv) this.#srvRecords(step.keep);
      else if (this.dns !== null) this.#records(step.keep);
      return null;
    }
    const list = this.#base
      .map((a, i) => ({ ...a, weight: step.weights[i]! }))
      .filter((_, i) => step.keep[i]);
    return list.length > 0 ? list : null;
  }

  /** The list's source answers again (its records or configuration stay as the history left them). */
  heal(): void {
    if (this.dns !== null) this.dns.failure = null;
    if (this.#discovery !== null) this.#endpoint("up");
  }

  #endpoint(how: EndpointMode): void {
    const net = this.#net;
    this.#mode = how;
    if (how === "down") net.kill(ENDPOINT_LABEL);
    else if (!net.server(ENDPOINT_LABEL).alive) net.restart(ENDPOINT_LABEL);
    if (how === "hang") net.pause(ENDPOINT_LABEL);
    else net.resume(ENDPOINT_LABEL);
  }

  /** The endpoint's reply to `config get cluster`, in AWS's format. */
  #config(): string {
    const node = (i: number) => `node${i}.sim|${this.#base[i]!.host}|${this.#base[i]!.port}`;
    let version = this.#version;
    let nodes = this.#base.map((_, i) => i).filter((i) => this.#listed[i]);
    let line = nodes.map(node).join(" ");
    if (this.#mode === "older") {
      // An older configuration, listing every node: to be ignored.
      version -= 1;
      nodes = this.#base.map((_, i) => i);
      line = nodes.map(node).join(" ");
    } else if (this.#mode === "malformed") line = `${line} bogus.sim|not-an-ip|11211`;
    const block = `${version}\n${line}\n`;
    return `CONFIG cluster 0 ${block.length}\r\n${block}\r\nEND\r\n`;
  }

  #srvRecords(keep: boolean[]): void {
    this.dns!.srv = this.#base.filter((_, i) => keep[i]).map((a) => ({ name: a.host, port: a.port }));
  }

  #records(keep: boolean[]): void {
    const dns = this.dns!;
    dns.v4 = this.#base.filter((_, i) => keep[i] && i % 2 === 0).map((a) => a.host);
    dns.v6 = this.#base.filter((_, i) => keep[i] && i % 2 === 1).map((a) => a.host);
  }
}

function dnsHost(i: number): string {
  return i % 2 === 0 ? `10.0.0.${i + 1}` : `fd00::${i + 1}`;
}
