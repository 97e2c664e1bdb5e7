/**
 * Keys whose value on a server may be out of date because a write for them did not reach it: the
 * write failed there (connection error, server down), or went elsewhere while the server was away
 * (ejection). When the server comes back, these keys are deleted on it before it serves again.
 *
 * Bounded: at most `max` keys per server. A server whose list would grow past that is marked
 * overflowed instead, and its list dropped: which keys it may hold stale is then unknown, so the
 * whole server is flushed before it serves again (nothing is forgotten silently).
 */
import { keyId } from "../../protocol/frame.js";

/** One remembered key: its wire token, whether that token is base64, and the key it is routed by. */
export interface StaleKey {
  token: string;
  base64: boolean;
  route: string | Buffer;
}

/** What a returning server needs before it serves: keys to delete, or a flush when too many were missed. */
export interface StaleState {
  keys: StaleKey[];
  /** More than `max` keys were missed: flush the server instead. */
  overflowed: boolean;
}

export class WriteFailures {
  readonly #byServer = new Map<string, Map<string, StaleKey>>();
  readonly #overflowed = new Set<string>();
  /** Most keys remembered per server. */
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Remembers that `token` (routed by `route`) may be stale on `server`. */
  record(server: string, token: string, base64: boolean, route: string | Buffer): void {
    if (this.#overflowed.has(server)) return;
    let keys = this.#byServer.get(server);
    if (keys === undefined) {
      keys = new Map();
      this.#byServer.set(server, keys);
    }
    const id = keyId(token, base64);
    keys.set(id, { token, base64, route });
    if (keys.size > this.max) this.markOverflowed(server);
  }

  /** From now until it is taken, `server` is to be flushed whole. */
  markOverflowed(server: string): void {
    this.#overflowed.add(server);
    this.#byServer.delete(server);
  }

  /** Whether nothing is remembered for any server. */
  get empty(): boolean {
    return this.#byServer.size === 0 && this.#overflowed.size === 0;
  }

  /** Whether anything is remembered for `server`. */
  has(server: string): boolean {
    return this.#overflowed.has(server) || this.#byServer.has(server);
  }

  /** Whether `token` may be stale on `server` (remembered, or the server's list overflowed). */
  hasKey(server: string, token: string, base64: boolean): boolean {
    if (this.#overflowed.has(server)) return true;
    return this.#byServer.get(server)?.has(keyId(token, base64)) === true;
  }

  /** Takes (and forgets) what was remembered for `server`. */
  take(server: string): StaleState {
    const keys = this.#byServer.get(server);
    this.#byServer.delete(server);
    const overflowed = this.#overflowed.delete(server);
    return { keys: keys === undefined ? [] : [...keys.values()], overflowed };
  }
}
