/**
 * Reads through the local cache (L1): a fresh entry answers without the network; a read that went
 * to the server refreshes or drops the entry; a read that could not reach the server is answered
 * from an expired entry within its stale-if-error window (event `staleServed`). Writes through this
 * client drop the key's entry ({@link LocalReads.forget}).
 */
import { unreachable } from "../cluster/policy.js";
import type { Key, KeyEncoder } from "../keys.js";
import type { CallOptions } from "../options.js";
import type { LocalCache } from "./local-cache.js";
import { keyId } from "../protocol/frame.js";

/** Where an entry's value comes from when it is not fresh. */
type LoadOne = (key: Key, options: CallOptions | undefined) => Promise<unknown>;
type LoadMany = (keys: Key[], options: CallOptions | undefined) => Promise<Map<Key, unknown>>;

export class LocalReads {
  constructor(
    readonly cache: LocalCache,
    readonly keys: KeyEncoder,
    /** Told when an expired entry was served because the server could not be reached. */
    readonly onStaleServed: (key: Key, error: unknown) => void,
  ) {}

  /** The cache's key for `key`: its wire token, marked when base64 (plain tokens have no spaces). */
  localKey(key: Key): string {
    const token = this.keys.encode(key);
    return keyId(token, this.keys.base64);
  }

  /** Drops the entry of a key written through this client (its wire token). */
  forget(token: string, base64: boolean): void {
    this.cache.delete(keyId(token, base64));
  }

  async get(key: Key, options: CallOptions | undefined, load: LoadOne): Promise<unknown> {
    const local = this.localKey(key);
    const hit = this.cache.get(local);
    if (hit !== undefined) return hit.value;
    try {
      const value = await load(key, options);
      if (value === undefined) this.cache.delete(local);
      else this.cache.set(local, value);
      return value;
    } catch (err) {
      return this.staleOr(local, key, err);
    }
  }

  async getMany(
    keys: Iterable<Key>,
    options: CallOptions | undefined,
    load: LoadMany,
  ): Promise<Map<Key, unknown>> {
    const out = new Map<Key, unknown>();
    const missing: Key[] = [];
    const locals: string[] = [];
    for (const k of keys) {
      const local = this.localKey(k);
      const hit = this.cache.get(local);
      if (hit !== undefined) out.set(k, hit.value);
      else {
        missing.push(k);
        locals.push(local);
      }
    }
    if (missing.length === 0) return out;
    let got: Map<Key, unknown>;
    try {
      got = await load(missing, options);
    } catch (err) {
      // Serve stale only when every key still missing has a stale entry: never a partial answer.
      const stale = locals.map((l) => (unreachable(err) ? this.cache.peekStale(l) : undefined));
      if (stale.some((s) => s === undefined)) throw err;
      missing.forEach((k, i) => {
        out.set(k, this.staleOr(locals[i]!, k, err));
      });
      return out;
    }
    missing.forEach((k, i) => {
      if (got.has(k)) {
        const v = got.get(k);
        out.set(k, v);
        this.cache.set(locals[i]!, v);
      } else this.cache.delete(locals[i]!);
    });
    return out;
  }

  /** When the server cannot be reached, an entry within its stale-if-error window; else rethrows. */
  staleOr(local: string, key: Key, err: unknown): unknown {
    if (unreachable(err)) {
      const stale = this.cache.stale(local);
      if (stale !== undefined) {
        this.onStaleServed(key, err);
        return stale.value;
      }
    }
    throw err;
  }
}
