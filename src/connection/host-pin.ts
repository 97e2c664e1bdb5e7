/**
 * The address every connection to a server named by a host name reaches. A name is looked up on
 * each connect, and its answer can change between two connects (the node behind it replaced, or
 * round-robin records): two connections of one server would then reach two memcached nodes, and a
 * read on one could return what the other no longer holds. So the first connection to connect pins
 * the address it reached; the server's other connects dial that address (the certificate still
 * checked against the name), and one that reached another address anyway dials again. The pin
 * lasts while one of its connections is open: once none is (a node that failed), the next connect
 * looks the name up again. A new answer of the name that lacks the address replaces the server's
 * connections, and their pin with them (`ServerPool.recycle`).
 */
import type { DialOptions } from "./dial.js";

export class HostPin {
  #address: string | null = null;
  /** Connections open at the pinned address. */
  #open = 0;

  /** The address the server's connections reach; null while none is open. */
  get address(): string | null {
    return this.#address;
  }

  /** What the next connect dials: `o` itself, or `o` with the pinned address in place of its host name. */
  dialOptions<T extends DialOptions>(o: T): T {
    const a = this.#address;
    return a === null ? o : { ...o, host: a, servername: o.servername ?? o.host };
  }

  /**
   * A connection reached `address` (its socket's remote address): true when that is the pinned
   * address, or becomes it, and the connection counts as open there until {@link closed}; false
   * when the others reach another address, and it must dial theirs.
   */
  opened(address: string): boolean {
    this.#address ??= address;
    if (address !== this.#address) return false;
    this.#open++;
    return true;
  }

  /** A connection counted by {@link opened} closed: with none left open, the pin goes. */
  closed(): void {
    if (--this.#open === 0) this.#address = null;
  }
}
