/**
 * The optional in-process L1 in front of the network (`localCache: { max, ttl, staleIfError }`).
 *
 * A bounded LRU on a `Map` (insertion order = recency: a hit is re-inserted at the end, the first key
 * is the least recently used). Entries are fresh for `ttl` ms; past that they are kept for
 * `staleIfError` ms more, to be served only when the server cannot be reached. Keys are wire tokens
 * (prefix applied, base64 marked), so string and Buffer keys that mean the same item agree.
 *
 * Values are shared, not copied: a caller that mutates an object it got mutates the cached one too.
 */

/** Options of the local cache. */
export interface LocalCacheOptions {
  /** Most entries kept. */
  max: number;
  /** How long an entry is served without asking the server, ms. */
  ttl: number;
  /** How much longer an expired entry may be served when the server is unreachable, ms. Default 0. */
  staleIfError?: number;
}

interface Entry {
  value: unknown;
  /** Fresh until (performance.now() clock). */
  freshUntil: number;
  /** Usable as a stale fallback until. */
  staleUntil: number;
}

/** The L1 itself. */
export class LocalCache {
  readonly #map = new Map<string, Entry>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #stale: number;
  hits = 0;
  misses = 0;
  staleServed = 0;

  constructor(o: LocalCacheOptions) {
    this.#max = o.max;
    this.#ttl = o.ttl;
    this.#stale = o.staleIfError ?? 0;
  }

  get size(): number {
    return this.#map.size;
  }

  /** A fresh value, counting a hit or a miss; `undefined` when absent or expired. */
  get(token: string): { value: unknown } | undefined {
    const e = this.#map.get(token);
    if (e !== undefined && performance.now() < e.freshUntil) {
      this.hits++;
      this.#map.delete(token);
      this.#map.set(token, e);
      return e;
    }
    this.misses++;
    if (e !== undefined && performance.now() >= e.staleUntil) this.#map.delete(token);
    return undefined;
  }

  /** Whether a stale-if-error fallback exists for `token` (without counting it as served). */
  peekStale(token: string): { value: unknown } | undefined {
    const e = this.#map.get(token);
    return e === undefined || performance.now() >= e.staleUntil ? undefined : e;
  }

  /** A value still inside its stale-if-error window (for when the server cannot be reached). */
  stale(token: string): { value: unknown } | undefined {
    const e = this.#map.get(token);
    if (e === undefined || performance.now() >= e.staleUntil) return undefined;
    this.staleServed++;
    return e;
  }

  set(token: string, value: unknown): void {
    const now = performance.now();
    this.#map.delete(token);
    this.#map.set(token, { value, freshUntil: now + this.#ttl, staleUntil: now + this.#ttl + this.#stale });
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) this.#map.delete(oldest.value);
    }
  }

  delete(token: string): void {
    this.#map.delete(token);
  }

  clear(): void {
    this.#map.clear();
  }
}
