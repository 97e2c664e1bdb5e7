/**
 * What a {@link Connection} is made with: its settings (resolved by the client) and the callbacks of
 * its owner.
 */
import type { WireProtocol } from "../protocol/reply.js";
import type { Connection } from "./connection.js";
import type { Credentials } from "./credentials.js";
import type { DialOptions } from "./dial.js";

/** Settings of one connection (resolved by the client): where and how to dial, and the rest. */
export interface ConnectionOptions extends DialOptions {
  /** No byte for this long while replies are owed → the server is hung. */
  socketTimeout: number;
  maxInFlight: number;
  maxQueue: number;
  maxValueSize: number;
  /** Send `version` first on every new socket and check the answer (a peer that is not memcached fails fast). */
  handshake?: boolean;
  /** Wire protocol. Default `"meta"`. */
  protocol?: WireProtocol;
  /** Credentials sent first on every new socket (SASL PLAIN for binary, ASCII auth for meta and text). */
  auth?: Credentials | null;
  /** A socket idle longer than this, ms, is replaced before it is written to again; 0 or absent: only after a freeze. */
  maxIdle?: number;
  /** The socket keeps the process alive only while replies are owed. */
  allowExitOnIdle?: boolean;
}

/** Callbacks for the owner (health tracking). All optional. */
export interface ConnectionEvents {
  /** The socket closed: `error` when it failed (connect error, I/O error, protocol error, hang). */
  onClose?(conn: Connection, error: Error | undefined): void;
  /** A written attempt reached its deadline without a reply. */
  onTimeout?(conn: Connection): void;
  /** The server closed an idle connection (its idle timeout, or a restart): no failure, a hint. */
  onServerClosed?(conn: Connection): void;
}
