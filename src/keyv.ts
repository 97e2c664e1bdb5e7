/**
 * `memcachio/keyv`: a Keyv storage adapter backed by a memcachio client.
 *
 *     import Keyv from "keyv";
 *     import { KeyvMemcachio } from "memcachio/keyv";
 *     const keyv = new Keyv({ store: new KeyvMemcachio(client), namespace: "users" });
 *
 * `clear()` empties only this namespace, without `flush_all`: memcached cannot list keys, so every key
 * is stored under a generation number of its namespace (`<generation>/<key>`), kept in memcached at
 * `keyv-generation:<namespace>`. `clear()` increments it: the old keys can no longer be reached and
 * expire (or are evicted) on their own. Each call reads the generation in the same pipelined round
 * trip as the data, so a clear by any process is seen at once.
 */
import { EventEmitter } from "node:events";
import { Client } from "./client.js";
import type { ClientOptions } from "./options.js";

const GENERATION = "keyv-generation:";

/**
 * One boolean per entry of `setMany`, in order: both Keyv majors read them. Keyv 5's adapter type
 * declares `Promise<void>` where Keyv 6's declares `boolean[]`; this type fits both.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: the intersection with void is what fits Keyv 5's declaration
export type SetManyResults = boolean[] & void;

/**
 * A Keyv storage adapter (for Keyv 5 and Keyv 6) over a memcachio {@link Client}: `new Keyv(new
 * KeyvMemcachio(client))`, or `new Keyv({ store: new KeyvMemcachio(options), namespace })`.
 */
export class KeyvMemcachio extends EventEmitter {
  /** Set by Keyv: the namespace this store serves. */
  namespace: string | undefined;
  /** Keyv reads this; the adapter has no options of its own. */
  readonly opts: Record<string, unknown> = {};
  /** The client the adapter reads and writes through. */
  readonly client: Client;
  readonly #owned: boolean;

  /** Over an existing client (left open by `disconnect`), or a new one from its options. */
  constructor(client: Client | ClientOptions) {
    super();
    // Not `instanceof`: this entry point may carry its own copy of the Client class.
    const given = typeof (client as Client).getMany === "function";
    this.#owned = !given;
    this.client = given ? (client as Client) : new Client(client as ClientOptions);
  }

  /** The value Keyv stored at `key`, or `undefined`; `Value` is Keyv's own type parameter. */
  async get<Value>(key: string): Promise<Value | undefined> {
    const [value] = await this.#read([key]);
    return value as Value | undefined;
  }

  /** The values at `keys`, in order, `undefined` for each miss (one round trip). */
  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    return (await this.#read(keys)) as Array<Value | undefined>;
  }

  /** Whether `key` holds a value. */
  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  /** Whether each of `keys` holds a value, in order (one round trip). */
  async hasMany(keys: string[]): Promise<boolean[]> {
    return (await this.#read(keys)).map((v) => v !== undefined);
  }

  /** `ttl` in milliseconds, as Keyv gives it (memcached keeps whole seconds, rounded up). */
  async set(key: string, given: unknown, ttl?: number): Promise<boolean> {
    const seconds = toSeconds(ttl);
    const value = copyOfBytes(given);
    for (;;) {
      const generation = await this.#generation();
      const [now, stored] = await Promise.all([
        this.client.get(this.#generationKey()),
        this.client.set(this.#key(generation, key), value, { ttl: seconds }),
      ]);
      if (String(now ?? "0").trim() === generation) return stored;
      this.#cached = String(now ?? "0").trim(); // cleared meanwhile: write again, in the new generation
    }
  }

  /**
   * Stores `entries` (their `ttl` in milliseconds) in one round trip per distinct TTL; one boolean
   * per entry, in order.
   */
  async setMany(
    entries: Array<{ key: string; value: unknown; ttl?: number | undefined }>,
  ): Promise<SetManyResults> {
    const values = entries.map((e) => copyOfBytes(e.value));
    const byTtl = new Map<number, number[]>();
    entries.forEach((e, i) => {
      const seconds = toSeconds(e.ttl);
      byTtl.set(seconds, [...(byTtl.get(seconds) ?? []), i]);
    });
    for (;;) {
      const generation = await this.#generation();
      const [now, ...stored] = await Promise.all([
        this.client.get(this.#generationKey()),
        ...[...byTtl].map(([seconds, at]) =>
          this.client.setMany(
            at.map((i) => [this.#key(generation, entries[i]!.key), values[i]] as const),
            { ttl: seconds },
          ),
        ),
      ]);
      if (String(now ?? "0").trim() === generation) {
        const out = new Array<boolean>(entries.length).fill(false);
        [...byTtl.values()].forEach((at, g) => {
          at.forEach((i, j) => {
            out[i] = stored[g]![j]!;
          });
        });
        return out as SetManyResults;
      }
      this.#cached = String(now ?? "0").trim(); // cleared meanwhile: write again, in the new generation
    }
  }

  /** Deletes `key`; true when it existed. */
  async delete(key: string): Promise<boolean> {
    const generation = await this.#generation();
    return this.client.delete(this.#key(generation, key));
  }

  /** Deletes `keys` in one round trip; true when every one existed. */
  async deleteMany(keys: string[]): Promise<boolean> {
    const generation = await this.#generation();
    const done = await this.client.deleteMany(keys.map((k) => this.#key(generation, k)));
    return done.every(Boolean);
  }

  /** Empties this namespace: its generation moves on (see the module comment). */
  async clear(): Promise<void> {
    const next = await this.client.incr(this.#generationKey(), 1n, { initial: 1n });
    this.#cached = String(next ?? "0");
  }

  /** Closes the client if this adapter created it. */
  async disconnect(): Promise<void> {
    if (this.#owned) await this.client.close();
  }

  /** Generation last seen, or undefined before the first call. */
  #cached: string | undefined;

  async #generation(): Promise<string> {
    if (this.#cached !== undefined) return this.#cached;
    const g = await this.client.get(this.#generationKey());
    this.#cached = String(g ?? "0").trim();
    return this.#cached;
  }

  /** Values of `keys`, read in the same round trip as the generation; again if it moved on. */
  async #read(keys: string[]): Promise<unknown[]> {
    for (;;) {
      const generation = await this.#generation();
      const genKey = this.#generationKey();
      const dataKeys = keys.map((k) => this.#key(generation, k));
      const got = await this.client.getMany([genKey, ...dataKeys]);
      const now = String(got.get(genKey) ?? "0").trim();
      if (now === generation) return dataKeys.map((k) => got.get(k));
      this.#cached = now;
    }
  }

  #generationKey(): string {
    return `${GENERATION}${this.namespace ?? ""}`;
  }

  #key(generation: string, key: string): string {
    return `${generation}/${key}`;
  }
}

/** Keyv's TTL (milliseconds; none or ≤ 0 is no expiry) as memcached's whole seconds, rounded up. */
function toSeconds(ttl: number | undefined): number {
  return ttl === undefined || ttl <= 0 ? 0 : Math.ceil(ttl / 1000);
}

/**
 * A Buffer or Uint8Array value, copied at the call: the generation is read before the value is
 * written, and a caller may change its bytes meanwhile (the client copies only when it is called).
 */
function copyOfBytes(value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value) : value;
}
