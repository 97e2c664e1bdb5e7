/**
 * Where a history's client finds its servers: a plain list (changed by `setServers`, weights and
 * all), or one `dns+` entry answered by {@link SimDns} (changed by changing the records, which the
 * client picks up on its next refresh). Server `i` is `127.0.0.1:<21000+i>` in a plain list; by DNS,
 * `10.0.0.<i+1>` (an A record) when `i` is even and `fd00::<i+1>` (AAAA) when odd, port 11211.
 */
import { RESOLVER } from "../../src/client/names.ts";
import type { ServerSpec } from "../../src/index.ts";
import type { Settings, Step } from "./generator.ts";
import { SimDns } from "./sim-dns.ts";

/** How long the client waits for a DNS answer, ms. */
const DNS_TIMEOUT = 150;

type Address = { host: string; port: number; weight: number };

export class Fleet {
  readonly dns: SimDns | null;
  readonly #base: Address[];
  readonly #refresh: number;

  constructor(s: Settings) {
    const byDns = s.dns != null;
    this.#base = s.weights.map((weight, i) => ({
      host: byDns ? (i % 2 === 0 ? `10.0.0.${i + 1}` : `fd00::${i + 1}`) : "127.0.0.1",
      port: byDns ? 11211 : 21000 + i,
      weight,
    }));
    this.dns = s.dns == null ? null : new SimDns(DNS_TIMEOUT, s.dns.loseFirst);
    this.#refresh = s.dns?.refresh ?? 0;
    if (this.dns !== null) this.#records(this.#base.map(() => true));
  }

  label(i: number): string {
    const a = this.#base[i]!;
    return `${a.host}:${a.port}`;
  }

  /** The client's `servers` option. */
  get servers(): ServerSpec[] {
    return this.dns === null ? this.#base : ["dns+memcached.sim:11211"];
  }

  /** Other client options the fleet needs. */
  get options(): object {
    return this.dns === null ? {} : { dns: { refreshInterval: this.#refresh, timeout: DNS_TIMEOUT } };
  }

  /** Symbol-keyed options: the simulated resolver. */
  get injected(): object {
    return this.dns === null ? {} : { [RESOLVER]: this.dns };
  }

  /** Applies a list change or DNS fault; returns the list to give `setServers`, if one is. */
  change(step: Step): Address[] | null {
    if (step.op === "dns") {
      if (this.dns !== null)
        this.dns.failure = step.fail === "none" ? null : { family: step.fail, how: step.how };
      return null;
    }
    if (step.op !== "list") return null;
    if (this.dns !== null) {
      // Weights are the entry's: a record change only adds and removes servers.
      this.#records(step.keep);
      return null;
    }
    const list = this.#base
      .map((a, i) => ({ ...a, weight: step.weights[i]! }))
      .filter((_, i) => step.keep[i]);
    return list.length > 0 ? list : null;
  }

  /** DNS answers again (its records stay as the history left them). */
  heal(): void {
    if (this.dns !== null) this.dns.failure = null;
  }

  #records(keep: boolean[]): void {
    const dns = this.dns!;
    dns.v4 = this.#base.filter((_, i) => keep[i] && i % 2 === 0).map((a) => a.host);
    dns.v6 = this.#base.filter((_, i) => keep[i] && i % 2 === 1).map((a) => a.host);
  }
}
