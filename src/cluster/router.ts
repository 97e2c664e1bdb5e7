/**
 * Key → server. Owns the servers and the ketama ring, and rebuilds the ring when membership changes:
 * with `eject`, a server that goes down leaves the ring (its keys move to their next owner) and comes
 * back when a probe succeeds; without it, the ring never changes and a down owner fails its keys fast.
 *
 * The ring is always rebuilt from the configured list (in configuration order) filtered to the live
 * servers, so placement stays exactly libmemcached's for that set.
 */
import type { ConnectionOptions } from "../connection/connection.js";
import type { ServerAddress } from "../util/servers.js";
import { HashRing } from "./ketama.js";
import { type HealthOptions, Server } from "./server.js";

/** Router settings (resolved by the client). */
export interface RouterOptions {
  eject: boolean;
}

/** Health transitions the client turns into events. */
export interface RouterEvents {
  serverDown(label: string, error: Error): void;
  serverUp(label: string): void;
}

export class Router {
  /** Every configured server, in configuration order. */
  readonly servers: readonly Server[];
  readonly #eject: boolean;
  readonly #events: RouterEvents;
  /** The only server, when exactly one is configured (no hashing then). */
  readonly #single: Server | null;
  #ring: HashRing;
  /** Servers on the ring, by label. */
  #onRing = new Map<string, Server>();

  constructor(
    addresses: ServerAddress[],
    connection: Omit<ConnectionOptions, "host" | "port">,
    health: HealthOptions,
    options: RouterOptions,
    events: RouterEvents,
  ) {
    this.#eject = options.eject;
    this.#events = events;
    const handlers = {
      onDown: (s: Server, err: Error) => {
        if (this.#eject) this.#rebuild();
        this.#events.serverDown(s.label, err);
      },
      onUp: (s: Server) => {
        if (this.#eject) this.#rebuild();
        this.#events.serverUp(s.label);
      },
    };
    const servers: Server[] = [];
    const labels = new Set<string>();
    for (const a of addresses) {
      const s = new Server(a, connection, health, handlers);
      if (labels.has(s.label)) continue; // the same server listed twice is one server
      labels.add(s.label);
      servers.push(s);
    }
    this.servers = servers;
    this.#single = this.servers.length === 1 ? this.servers[0]! : null;
    this.#ring = new HashRing();
    this.#rebuild();
  }

  /**
   * The server that owns `hashKey`: the configured one when there is only one (whatever its state),
   * else the ring's owner (only live servers are on it with `eject`). `undefined` when the ring is empty.
   */
  route(hashKey: string | Buffer): Server | undefined {
    if (this.#single !== null) return this.#single;
    if (this.#onRing.size === 0) return undefined;
    return this.#onRing.get(this.#ring.serverFor(hashKey));
  }

  /** Groups key indices by owning server (`undefined`: no server can take them). */
  group(hashKeys: readonly (string | Buffer)[]): Map<Server | undefined, number[]> {
    const groups = new Map<Server | undefined, number[]>();
    for (let i = 0; i < hashKeys.length; i++) {
      const s = this.route(hashKeys[i]!);
      const g = groups.get(s);
      if (g === undefined) groups.set(s, [i]);
      else g.push(i);
    }
    return groups;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }

  #rebuild(): void {
    const live = this.servers.filter((s) => !this.#eject || s.state === "up");
    this.#ring = new HashRing(live.map((s) => s.address));
    this.#onRing = new Map(live.map((s) => [s.label, s]));
  }
}
