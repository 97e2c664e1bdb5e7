/**
 * Keys whose value on a server may be out of date because a write for them did not reach it: the
 * write failed there (connection error, server down), or went elsewhere while the server was away
 * (ejection). When the server comes back, these keys are deleted on it before it serves again, so it
 * never serves a value older than the last write.
 *
 * Bounded: at most `max` keys per server, the newest kept (a `Map` keeps insertion order; a key
 * written again moves to the end). A key pushed out is the oldest.
 */

/** One remembered key: its wire token and whether that token is base64. */
export interface StaleKey {
  token: string;
  base64: boolean;
}

export class WriteFailures {
  readonly #byServer = new Map<string, Map<string, StaleKey>>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** Remembers that `token` may be stale on `server`. */
  record(server: string, token: string, base64: boolean): void {
    let keys = this.#byServer.get(server);
    if (keys === undefined) {
      keys = new Map();
      this.#byServer.set(server, keys);
    }
    const id = base64 ? `${token} b` : token;
    keys.delete(id);
    keys.set(id, { token, base64 });
    if (keys.size > this.#max) {
      const oldest = keys.keys().next();
      if (oldest.done !== true) {
        keys.delete(oldest.value);
      }
    }
  }

  /** Takes (and forgets) the keys remembered for `server`. */
  take(server: string): StaleKey[] {
    const keys = this.#byServer.get(server);
    this.#byServer.delete(server);
    return keys === undefined ? [] : [...keys.values()];
  }
}
