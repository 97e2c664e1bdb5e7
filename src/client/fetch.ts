/**
 * `fetch` (read-through with stale-while-revalidate and thundering-herd protection on the server)
 * and the winner's write-back. Meta protocol only.
 *
 * One `mg <key> v f c t N<lockTtl> [R<recacheWithin>]`: a hit returns the value. On a miss the server
 * makes a stub and exactly one caller (across every client) wins (`W`): it runs `loader`, writes the
 * value back with `ms … C<cas> T<ttl>` and returns it. The others get a stale value at once when
 * there is one (`X`); otherwise they poll (5 ms, doubling to 20 ms) until the winner's value is there,
 * up to the call's deadline, after which they run `loader` themselves (`onLockTimeout: "load"`) or
 * reject with `TimeoutError` (`"throw"`). The deadline bounds the polls (each gets what is left of it)
 * and the write-back; the loader's own time is the caller's.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AbortError, InvalidArgumentError, TimeoutError } from "../errors.js";
import type { Key } from "../keys.js";
import type { CallOptions, FetchOptions, InvalidateOptions, SetOptions } from "../options.js";
import { seconds, ttl } from "./arguments.js";
import type { LocalReads } from "./local-reads.js";
import type { FetchReply } from "./replies.js";

/** What fetch needs from the client. */
export interface FetchHost {
  /** Default deadline, ms. */
  readonly timeout: number;
  readonly local: LocalReads | null;
  /** One `mg … N R` round trip. */
  fetchOnce(key: Key, lockTtl: number, recache: number, options: CallOptions): Promise<FetchReply>;
  /** A store with `C<cas>`. */
  storeIfCas(key: Key, value: unknown, options: SetOptions, cas: bigint): Promise<boolean>;
  add(key: Key, value: unknown, options: SetOptions): Promise<boolean>;
  invalidate(key: Key, options: InvalidateOptions): Promise<boolean>;
}

/** The miss a `fetch` read answers with `failOpen` when the server is unreachable: load it yourself. */
export const FETCH_MISS: FetchReply = {
  hasValue: false,
  value: undefined,
  cas: 0n,
  won: true,
  stale: false,
  claimed: false,
};

/** What the herd knows of an item nobody loaded in time: no value, no CAS to write back with. */
const NOT_WON: FetchReply = {
  hasValue: false,
  value: undefined,
  cas: 0n,
  won: false,
  stale: false,
  claimed: true,
};

function lockTimeout(cause?: unknown): TimeoutError {
  return new TimeoutError(
    "fetch: another caller's load did not finish within the deadline",
    cause === undefined ? undefined : { cause },
  );
}

/** See the file's comment. */
export async function fetchThrough<T>(
  host: FetchHost,
  key: Key,
  loader: () => T | Promise<T>,
  options: FetchOptions,
): Promise<T> {
  if (typeof loader !== "function") throw new InvalidArgumentError("fetch needs a loader function");
  const lockTtl = seconds("lockTtl", options.lockTtl, 10, 1);
  const recache =
    options.recacheWithin === undefined ? -1 : seconds("recacheWithin", options.recacheWithin, 0, 1);
  ttl(options.ttl);
  if (options.staleTtl !== undefined) seconds("staleTtl", options.staleTtl, 0, 1);
  const l1 = host.local;
  const local = l1 === null ? "" : l1.localKey(key);
  if (l1 !== null) {
    const hit = l1.cache.get(local);
    if (hit !== undefined) return hit.value as T;
  }
  const waitUntil = performance.now() + (options.timeout ?? host.timeout);
  const call: CallOptions = options.signal === undefined ? {} : { signal: options.signal };
  if (options.timeout !== undefined) call.timeout = options.timeout;
  if (options.hashKey !== undefined) call.hashKey = options.hashKey;
  for (let delay = 5, polls = 0; ; delay = Math.min(delay * 2, 20), polls++) {
    // Each poll gets what is left of the call's deadline, not a deadline of its own.
    if (polls > 0) call.timeout = Math.max(1, Math.ceil(waitUntil - performance.now()));
    let r: FetchReply;
    try {
      r = await host.fetchOnce(key, lockTtl, recache, call);
    } catch (err) {
      // A poll that ran out of the call's time: the wait for another caller's load is over.
      if (polls > 0 && err instanceof TimeoutError && performance.now() >= waitUntil - 1) {
        if (options.onLockTimeout === "throw") throw lockTimeout(err);
        return load(host, key, loader, NOT_WON, options, local, waitUntil);
      }
      if (l1 === null) throw err;
      return l1.staleOr(local, key, err) as T;
    }
    if (r.won) return load(host, key, loader, r, options, local, waitUntil);
    if (r.hasValue) {
      l1?.cache.set(local, r.value);
      return r.value as T;
    }
    // Another caller is loading and there is nothing to serve yet: wait for its value.
    const left = waitUntil - performance.now();
    if (left <= 0) {
      if (options.onLockTimeout === "throw") throw lockTimeout();
      return load(host, key, loader, r, options, local, waitUntil);
    }
    try {
      await sleep(
        Math.min(delay, left),
        undefined,
        call.signal === undefined ? undefined : { signal: call.signal },
      );
    } catch (err) {
      throw new AbortError("fetch was aborted while waiting for another caller's load", { cause: err });
    }
  }
}

/** The winner's part: run the loader, write back with the CAS it won, return the fresh value. */
async function load<T>(
  host: FetchHost,
  key: Key,
  loader: () => T | Promise<T>,
  won: FetchReply,
  o: FetchOptions,
  local: string,
  waitUntil: number,
): Promise<T> {
  let value: T;
  try {
    value = await loader();
  } catch (err) {
    if (won.hasValue && o.staleTtl !== undefined) {
      const again =
        o.hashKey === undefined ? { staleTtl: o.staleTtl } : { staleTtl: o.staleTtl, hashKey: o.hashKey };
      host.invalidate(key, again).catch(ignore);
    }
    throw err;
  }
  const store: SetOptions = o.ttl === undefined ? {} : { ttl: o.ttl };
  if (o.hashKey !== undefined) store.hashKey = o.hashKey;
  // C<cas>: stored only if nobody invalidated or replaced the item meanwhile. If that is refused
  // because the stub expired (our lock ran out), add() stores it unless someone else has. No CAS
  // (the wait ran out before any reply): add() only. A failed write-back does not fail the call.
  const writeBack = async (stored: unknown) => {
    if (won.cas === 0n || !(await host.storeIfCas(key, stored, store, won.cas)))
      await host.add(key, stored, store);
  };
  // Within what is left of the call's deadline; past it, the write-back goes on without the caller,
  // who has the value back meanwhile: its add() would copy bytes the caller may have changed by then.
  const left = Math.floor(waitUntil - performance.now());
  if (left >= 1) {
    store.timeout = left;
    await writeBack(value).catch(ignore);
  } else writeBack(value instanceof Uint8Array ? Buffer.from(value) : value).catch(ignore);
  host.local?.cache.set(local, value);
  return value;
}

function ignore(): void {}
