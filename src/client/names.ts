/**
 * Name resolution for the server list, through Node's c-ares resolver (`dns.promises.Resolver`) so
 * that the DNS servers asked can be set (`dns.servers`; the system's by default): a `dns+name:port`
 * entry expands into one server per A/AAAA record, a `dnssrv+` entry into one per SRV record, and a
 * plain host name is looked up when a server's first connection connects (see `host-pin.ts`) and
 * checked on a schedule.
 */
import { lookup as systemLookup } from "node:dns/promises";
import { Resolver } from "node:dns/promises";
import type { LookupFunction } from "node:net";
import type { DnsEntry, ServerAddress } from "../util/servers.js";
import type { ResolvedDns } from "./topology-options.js";

/**
 * What DNS said of one address family of a name: its addresses (none when it answered that there are
 * none), or the error of a query that got no answer (SERVFAIL, a timeout, a refusal…).
 */
export type FamilyAnswer = { addresses: string[] } | { error: Error };

/** The A and AAAA answers of a name, each on its own. */
export interface FamilyAnswers {
  v4: FamilyAnswer;
  v6: FamilyAnswer;
}

/**
 * The DNS queries names are made with: Node's `dns.promises.Resolver`, or a stand-in that the
 * deterministic simulator (`test/sim/`) gives through the client option {@link RESOLVER}.
 * @internal
 */
export type DnsResolver = Pick<Resolver, "resolve4" | "resolve6" | "resolveSrv" | "cancel">;

/**
 * The client option that carries a {@link DnsResolver} (symbol-keyed, as `TRANSPORT`: users never
 * set it, and it is outside the documented options and their name checks).
 * @internal
 */
export const RESOLVER: unique symbol = Symbol.for("memcachio.resolver");

/** `dns` with the resolver the client options `o` carry under {@link RESOLVER}, if any. */
export function withResolver(dns: ResolvedDns, o: object): ResolvedDns {
  const r = (o as { [RESOLVER]?: unknown })[RESOLVER];
  return typeof r === "object" && r !== null ? { ...dns, resolver: r as DnsResolver } : dns;
}

/**
 * Codes of an answer that says the name, or this family of it, has no record: NXDOMAIN and NOERROR
 * with no answer. Every other failure says nothing about the records.
 */
const NO_RECORDS = new Set(["ENOTFOUND", "ENODATA"]);

export class Names {
  readonly #resolver: DnsResolver;
  readonly #custom: boolean;
  /** For `net.connect`: the resolver when DNS servers are set; absent, the system's lookup (hosts file). */
  readonly lookup: LookupFunction | undefined;

  constructor(o: ResolvedDns) {
    const resolver = o.resolver ?? new Resolver({ timeout: o.timeout, tries: 2 });
    if (o.servers !== null && resolver instanceof Resolver) resolver.setServers(o.servers);
    this.#resolver = resolver;
    // A resolver given by the simulator answers every name, plain host names too.
    this.#custom = o.servers !== null || o.resolver !== undefined;
    this.lookup = this.#custom ? this.#lookup : undefined;
  }

  /** Cancels the queries under way (they reject). */
  close(): void {
    this.#resolver.cancel();
  }

  /**
   * The servers of a `dnssrv+` entry now: none when DNS answers that the name has no SRV record (or
   * only the "." target, RFC 2782's "not available here"); rejects when the query failed.
   */
  async expandSrv(entry: DnsEntry): Promise<ServerAddress[]> {
    let records: Awaited<ReturnType<Resolver["resolveSrv"]>>;
    try {
      records = await this.#resolver.resolveSrv(entry.name);
    } catch (err) {
      if (NO_RECORDS.has((err as { code?: string }).code ?? "")) return [];
      throw err;
    }
    return records
      .filter((r) => r.port > 0 && r.name !== "")
      .map((r) => ({
        host: r.name,
        port: r.port,
        weight: entry.weight,
        zone: entry.zone,
        source: "srv" as const,
      }));
  }

  /** The A and AAAA answers of `name`, each family's on its own: one failing says nothing of the other. */
  async families(name: string): Promise<FamilyAnswers> {
    const [v4, v6] = await Promise.allSettled([this.#resolver.resolve4(name), this.#resolver.resolve6(name)]);
    return { v4: familyAnswer(v4), v6: familyAnswer(v6) };
  }

  /** The addresses `host` resolves to now; rejects when it does not resolve. */
  async addressesOf(host: string): Promise<string[]> {
    if (this.#custom) return await this.#addresses(host);
    return (await systemLookup(host, { all: true })).map((a) => a.address);
  }

  /**
   * Whether `host` still answers with `address`, judged by the query of its family alone (one
   * family failing says nothing of the other): false when that family answered without it and the
   * name has some record; undefined when it has no record at all (a name gone from DNS, not a node
   * moved). Rejects when the lookup, or that family's query, fails.
   */
  async stillHas(host: string, address: string): Promise<boolean | undefined> {
    if (!this.#custom) return (await systemLookup(host, { all: true })).some((a) => a.address === address);
    const answers = await this.families(host);
    const [mine, other] = address.includes(":") ? [answers.v6, answers.v4] : [answers.v4, answers.v6];
    if ("error" in mine) throw mine.error;
    if (mine.addresses.includes(address)) return true;
    const elsewhere = mine.addresses.length > 0 || ("addresses" in other && other.addresses.length > 0);
    return elsewhere ? false : undefined;
  }

  /** A and AAAA records of `name`: one family missing is fine, both are an error. */
  async #addresses(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.allSettled([this.#resolver.resolve4(name), this.#resolver.resolve6(name)]);
    const out = [
      ...(v4.status === "fulfilled" ? v4.value : []),
      ...(v6.status === "fulfilled" ? v6.value : []),
    ];
    if (out.length > 0) return out;
    throw v4.status === "rejected" ? v4.reason : v6.status === "rejected" ? v6.reason : noRecords(name);
  }

  readonly #lookup = ((
    hostname: string,
    options: { family?: number; all?: boolean },
    callback: (err: Error | null, address: unknown, family?: number) => void,
  ) => {
    this.#addresses(hostname).then(
      (ips) => {
        const list = ips
          .map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
          .filter((a) => !options.family || a.family === options.family);
        if (list.length === 0) callback(noRecords(hostname), undefined);
        else if (options.all === true) callback(null, list);
        else callback(null, list[0]!.address, list[0]!.family);
      },
      (err: Error) => callback(err, undefined),
    );
  }) as unknown as LookupFunction;
}

function noRecords(name: string): Error {
  return Object.assign(new Error(`${name} has no A or AAAA record`), { code: "ENODATA" });
}

function familyAnswer(r: PromiseSettledResult<string[]>): FamilyAnswer {
  if (r.status === "fulfilled") return { addresses: r.value };
  const error = r.reason as Error & { code?: string };
  return NO_RECORDS.has(error.code ?? "") ? { addresses: [] } : { error };
}
