/**
 * The optional in-process L1 in front of the network (`localCache: { max, ttl, staleIfError }`).
 *
 * A bounded LRU: slots in preallocated arrays, a `Map` from key to slot, and a doubly linked recency
 * list through the slots (as lru-cache does). A `Map`'s insertion order alone would serve as the list,
 * but deleting and re-inserting on every hit leaves holes that finding the oldest entry must step over:
 * under churn each operation cost as much as thousands. Entries are fresh for `ttl` ms; past that they are kept for
 * `staleIfError` ms more, to be served only when the server cannot be reached. Keys are wire tokens
 * (prefix applied, base64 marked), so string and Buffer keys that mean the same item agree.
 *
 * Values are shared, not copied: a caller that mutates an object it got mutates the cached one too.
 */
import { InvalidArgumentError } from "../errors.js";
import { positive, positiveInt } from "./arguments.js";

/** Options of the local cache. */
export interface LocalCacheOptions {
  /** Most entries kept. */
  max: number;
  /** How long an entry is served without asking the server, ms. */
  ttl: number;
  /** How much longer an expired entry may be served when the server is unreachable, ms. Default 0. */
  staleIfError?: number | undefined;
}

/** Checks the `localCache` option and fills in its defaults. */
export function localCacheOptions(l: LocalCacheOptions): LocalCacheOptions {
  if (l === null || typeof l !== "object") throw new InvalidArgumentError("localCache must be { max, ttl }");
  const out: LocalCacheOptions = {
    max: positiveInt("localCache.max", l.max, 1000),
    ttl: positive("localCache.ttl", l.ttl, 1000),
  };
  if (l.staleIfError !== undefined) out.staleIfError = positive("localCache.staleIfError", l.staleIfError, 0);
  return Object.freeze(out);
}

/** A slot's value, as `get` returns it (one object per entry, allocated when it is stored). */
interface Held {
  value: unknown;
}

const NONE = -1;

/** The L1 itself. */
export class LocalCache {
  readonly #slots = new Map<string, number>();
  readonly #keys: (string | undefined)[];
  readonly #held: (Held | undefined)[];
  /** Fresh until, and usable as a stale fallback until (performance.now() clock), by slot. */
  readonly #freshUntil: Float64Array;
  readonly #staleUntil: Float64Array;
  /** Recency list: `#newer[slot]` is the next more recently used slot; `#head` the least recent. */
  readonly #newer: Int32Array;
  readonly #older: Int32Array;
  #head = NONE;
  #tail = NONE;
  /** Slots never used yet start at `#fresh`; freed slots are chained through `#newer` from `#free`. */
  #fresh = 0;
  #free = NONE;
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
    this.#keys = new Array<string | undefined>(o.max);
    this.#held = new Array<Held | undefined>(o.max);
    this.#freshUntil = new Float64Array(o.max);
    this.#staleUntil = new Float64Array(o.max);
    this.#newer = new Int32Array(o.max);
    this.#older = new Int32Array(o.max);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** A fresh value, counting a hit or a miss; `undefined` when absent or expired. */
  get(token: string): Held | undefined {
    const slot = this.#slots.get(token);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    const now = performance.now();
    if (now < this.#freshUntil[slot]!) {
      this.hits++;
      this.#touch(slot);
      return this.#held[slot];
    }
    this.misses++;
    if (now >= this.#staleUntil[slot]!) this.#remove(token, slot);
    return undefined;
  }

  /** Whether a stale-if-error fallback exists for `token` (without counting it as served). */
  peekStale(token: string): Held | undefined {
    const slot = this.#slots.get(token);
    return slot === undefined || performance.now() >= this.#staleUntil[slot]! ? undefined : this.#held[slot];
  }

  /** A value still inside its stale-if-error window (for when the server cannot be reached). */
  stale(token: string): Held | undefined {
    const held = this.peekStale(token);
    if (held !== undefined) this.staleServed++;
    return held;
  }

  set(token: string, value: unknown): void {
    const now = performance.now();
    let slot = this.#slots.get(token);
    if (slot !== undefined) this.#touch(slot);
    else {
      slot = this.#take();
      this.#slots.set(token, slot);
      this.#keys[slot] = token;
      this.#append(slot);
    }
    this.#held[slot] = { value };
    this.#freshUntil[slot] = now + this.#ttl;
    this.#staleUntil[slot] = now + this.#ttl + this.#stale;
  }

  delete(token: string): void {
    const slot = this.#slots.get(token);
    if (slot !== undefined) this.#remove(token, slot);
  }

  clear(): void {
    this.#slots.clear();
    this.#keys.fill(undefined);
    this.#held.fill(undefined);
    this.#head = this.#tail = this.#free = NONE;
    this.#fresh = 0;
  }

  /** A slot for a new entry: a never-used one, a freed one, or the least recently used one's. */
  #take(): number {
    if (this.#fresh < this.#max) return this.#fresh++;
    if (this.#free !== NONE) {
      const slot = this.#free;
      this.#free = this.#newer[slot]!;
      return slot;
    }
    const oldest = this.#head;
    this.#slots.delete(this.#keys[oldest]!);
    this.#unlink(oldest);
    return oldest;
  }

  #remove(token: string, slot: number): void {
    this.#slots.delete(token);
    this.#unlink(slot);
    this.#keys[slot] = undefined;
    this.#held[slot] = undefined;
    this.#newer[slot] = this.#free;
    this.#free = slot;
  }

  /** Makes `slot` the most recently used. */
  #touch(slot: number): void {
    if (slot === this.#tail) return;
    this.#unlink(slot);
    this.#append(slot);
  }

  #append(slot: number): void {
    this.#older[slot] = this.#tail;
    this.#newer[slot] = NONE;
    if (this.#tail === NONE) this.#head = slot;
    else this.#newer[this.#tail] = slot;
    this.#tail = slot;
  }

  #unlink(slot: number): void {
    const older = this.#older[slot]!;
    const newer = this.#newer[slot]!;
    if (older === NONE) this.#head = newer;
    else this.#newer[older] = newer;
    if (newer === NONE) this.#tail = older;
    else this.#older[newer] = older;
  }
}
