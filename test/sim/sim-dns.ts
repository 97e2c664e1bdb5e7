/**
 * Simulated DNS for `dns+` and `dnssrv+` entries and plain host names: the client's resolver (the `RESOLVER` client option, see
 * `src/client/names.ts`) answers A, AAAA and SRV queries from records the history sets, a millisecond
 * later in virtual time (an SRV query fails only when both families do). Faults: a family (or both) failing with SERVFAIL or timing out, and the
 * first query of each family lost (it times out, as a dropped UDP packet does).
 */
import { count } from "./tally.ts";

export type DnsFailure = { family: "v4" | "v6" | "both"; how: "servfail" | "timeout" } | null;

/** How long a simulated answer takes, virtual ms. */
const ANSWER_MS = 1;

export class SimDns {
  v4: string[] = [];
  v6: string[] = [];
  /** Plain host names and the IPv4 address each has now (a name not here is answered `v4`/`v6`). */
  readonly hosts = new Map<string, string>();
  /** The SRV records of the `dnssrv+` entry (null: it has none). */
  srv: { name: string; port: number }[] | null = null;
  failure: DnsFailure = null;
  /** Families whose next query is lost. */
  readonly #lose = new Set<"v4" | "v6">();
  readonly #timeout: number;
  readonly #pending = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();

  /** `timeout`: how long a query waits for an answer that does not come (the client's `dns.timeout`). */
  constructor(timeout: number, loseFirst: boolean) {
    this.#timeout = timeout;
    if (loseFirst) {
      this.#lose.add("v4");
      this.#lose.add("v6");
    }
  }

  resolve4 = ((name: string) => this.#query("v4", name)) as never;
  resolve6 = ((name: string) => this.#query("v6", name)) as never;
  resolveSrv = ((_name: string) => {
    const records = this.srv;
    if (records === null)
      return Promise.reject(Object.assign(new Error("querySrv ENOTFOUND"), { code: "ENOTFOUND" }));
    // An SRV query fails only when both families do (it is neither).
    const both = this.failure?.family === "both" ? this.failure.how : null;
    return this.#answer(
      both,
      false,
      records.map((r) => ({ ...r, priority: 0, weight: 0 })),
    );
  }) as never;

  /** Rejects every query under way (as `Resolver#cancel`). */
  cancel(): void {
    for (const p of this.#pending) {
      clearTimeout(p.timer);
      p.reject(Object.assign(new Error("query ECANCELLED"), { code: "ECANCELLED" }));
    }
    this.#pending.clear();
  }

  #query(family: "v4" | "v6", name: string): Promise<string[]> {
    const f = this.failure;
    const failing = f !== null && (f.family === "both" || f.family === family) ? f.how : null;
    const lost = this.#lose.delete(family);
    if (lost) count("dns: first query lost");
    else if (failing !== null) count(`dns: ${family} query ${failing}`);
    const host = this.hosts.get(name);
    const answer =
      host !== undefined ? (family === "v4" ? [host] : []) : [...(family === "v4" ? this.v4 : this.v6)];
    return this.#answer(failing, lost, answer);
  }

  /** `answer` a virtual millisecond later, or the failure (a lost query times out). */
  #answer<T>(failing: "servfail" | "timeout" | null, lost: boolean, answer: T[]): Promise<T[]> {
    const wait = lost || failing === "timeout" ? this.#timeout : ANSWER_MS;
    return new Promise((resolve, reject) => {
      const p = {
        reject,
        timer: setTimeout(() => {
          this.#pending.delete(p);
          if (lost || failing === "timeout")
            reject(Object.assign(new Error(`query ETIMEOUT`), { code: "ETIMEOUT" }));
          else if (failing === "servfail")
            reject(Object.assign(new Error(`query ESERVFAIL`), { code: "ESERVFAIL" }));
          else if (answer.length === 0)
            reject(Object.assign(new Error(`query ENODATA`), { code: "ENODATA" }));
          else resolve(answer);
        }, wait),
      };
      this.#pending.add(p);
    });
  }
}
