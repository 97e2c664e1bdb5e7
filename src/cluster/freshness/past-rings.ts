/**
 * The home rings of earlier topologies, kept while their servers may still hold copies placed
 * under them. A key that moved away from a server stays there as it was; if the key is written
 * elsewhere and later moves back, that copy would be older than the last write. So while a past
 * ring is kept, every write is remembered for the key's past homes that are no longer its homes,
 * and those keys are deleted on them before the next topology change takes effect.
 *
 * A past ring is dropped once every item written under it has expired: the longest TTL this client
 * has written bounds that (an item without TTL never expires, and its ring is kept). Rings with the
 * same members are kept once. Past the most rings kept, the oldest is dropped and its servers are
 * flushed before the change: which of their keys are stale is then unknown.
 */
import { HashRing } from "../ketama.js";
import type { ServerAddress } from "../../util/servers.js";

/** Most distinct past rings kept. */
export const MAX_PAST_RINGS = 16;

/** Seconds past which memcached reads an expiry time as an absolute Unix time. */
const RELATIVE_TTL_LIMIT = 60 * 60 * 24 * 30;

interface PastRing {
  ring: HashRing;
  /** Members and weights, to keep one ring per membership. */
  signature: string;
  /** Date.now() after which nothing placed under it remains (Infinity: never). */
  until: number;
}

export class PastRings {
  #rings: PastRing[] = [];
  /** Longest lifetime of an item this client wrote, in seconds (Infinity once one had no TTL). */
  #longestTtl = 0;

  /** Whether any past ring is kept (writes are then remembered for their past homes). */
  get active(): boolean {
    return this.#rings.length > 0;
  }

  /** An item with expiry `ttl` was written (seconds as memcached takes them; 0: never expires). */
  noteTtl(ttl: number): void {
    if (ttl === 0) this.#longestTtl = Number.POSITIVE_INFINITY;
    else if (ttl > 0 && ttl > this.#longestTtl)
      this.#longestTtl = Math.max(this.#longestTtl, lifetimeOf(ttl));
  }

  /**
   * The ring of `addresses` stops being where keys live now — or, with `skipped`, that ring routed
   * around those servers (`ring` is then that placement). Returns the labels of the servers of a
   * ring dropped because too many are kept: they must be flushed.
   */
  retire(
    addresses: readonly ServerAddress[],
    ring: HashRing = HashRing.of(addresses),
    skipped: readonly string[] = [],
  ): string[] {
    // No server, no copy to remember (a client whose first list is still being resolved).
    if (addresses.length === 0) return [];
    const signature = `${signatureOf(addresses)}/${skipped.join(",")}`;
    const until = Date.now() + this.#longestTtl * 1000;
    this.#rings = this.#rings.filter((r) => r.signature !== signature);
    this.#rings.push({ ring, signature, until });
    if (this.#rings.length <= MAX_PAST_RINGS) return [];
    return [...this.#rings.shift()!.ring.servers];
  }

  /** Forgets rings whose items have all expired. */
  prune(now = Date.now()): void {
    if (this.#rings.some((r) => r.until < now)) this.#rings = this.#rings.filter((r) => r.until >= now);
  }

  /**
   * Appends each past ring's homes (its first `replicas` servers) of the key whose ketama hash is
   * `hash` to `out`; repeats are possible.
   */
  homesOf(hash: number, replicas: number, out: string[]): void {
    for (const r of this.#rings) out.push(...r.ring.serversForHash(hash, replicas));
  }
}

/** Seconds an item with expiry `ttl` lives from now. */
function lifetimeOf(ttl: number): number {
  return ttl > RELATIVE_TTL_LIMIT ? Math.max(0, ttl - Date.now() / 1000) : ttl;
}

function signatureOf(addresses: readonly ServerAddress[]): string {
  return addresses.map((a) => `${a.host}|${a.port}|${a.path ?? ""}|${a.weight}`).join(",");
}
