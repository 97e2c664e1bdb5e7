/**
 * A stand-in for the network: the deterministic simulator of the cluster core (`test/sim/`) gives
 * the client a function that makes its sockets, so that every layer above the socket — protocol,
 * connections, pools, health, routing, freshness — runs unchanged against simulated servers. Users
 * never set it: it is a symbol-keyed client option, outside the documented options and their
 * name checks.
 */
import type { Socket } from "node:net";
import type { DialOptions } from "./dial.js";

/**
 * Makes a socket-like object for `o` that is already connecting: it emits `connect`, then `data`
 * with the server's bytes, and `error`/`close` when it fails.
 * @internal
 */
export type Transport = (o: DialOptions) => Socket;

/**
 * The client option that carries a {@link Transport}.
 * @internal
 */
export const TRANSPORT: unique symbol = Symbol.for("memcachio.transport");

/** The transport `options` carry, if any. */
export function transportOf(options: object): Transport | null {
  const t = (options as { [TRANSPORT]?: unknown })[TRANSPORT];
  return typeof t === "function" ? (t as Transport) : null;
}
