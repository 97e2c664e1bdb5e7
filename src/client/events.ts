/**
 * The events a {@link Client} emits (it never emits `error`), and the emitter methods typed over
 * them: an event name the client does not emit, or a listener that expects another payload, does
 * not compile.
 */
import { EventEmitter } from "node:events";
import type { TopologyChange } from "../cluster/membership.js";
import type { Key } from "../keys.js";
import type { TopologyReason } from "./topology.js";

/** Event names and what each listener receives. */
export interface ClientEvents {
  /** A server failed (`failover.failureThreshold` times, or refused): it takes no traffic until a probe succeeds. */
  serverDown: {
    /** The server's label: `"host:port"`, or a Unix socket's path. */
    server: string;
    /** The failure that brought it down. */
    error: Error;
  };
  /** A down server answered a probe and was repaired: it takes traffic again. */
  serverUp: {
    /** The server's label: `"host:port"`, or a Unix socket's path. */
    server: string;
  };
  /** A write did not reach `server`: the key is deleted there before the server serves again. */
  writeFailure: {
    /** The label of the server the write missed. */
    server: string;
    /** The key as sent (prefix applied, base64 when needed). */
    key: string;
    /** Why the write did not reach it. */
    error: unknown;
  };
  /**
   * `server` was flushed before serving again; `reason` says why: more writes missed it than are
   * remembered, repairs that writes kept outpacing, it left the list and came back, or the ring its
   * copies lived on was dropped for room.
   */
  serverFlushed: {
    /** The label of the flushed server. */
    server: string;
    /** Why it was flushed, in words. */
    reason: string;
  };
  /**
   * The local cache answered with an expired entry because the server could not be reached. `key` is
   * as the caller gave it (a string or a Buffer).
   */
  staleServed: {
    /** The key, as the caller gave it. */
    key: Key;
    /** Why the server could not be reached. */
    error: unknown;
  };
  /**
   * The server list changed: labels added, removed and `reweighted` (kept with another weight or zone,
   * when some were), and what changed it.
   */
  topologyChange: TopologyChange & {
    /** What changed it: a `setServers`, `addServer` or `removeServer` call, a DNS refresh, or discovery. */
    reason: TopologyReason;
  };
  /** A DNS name or the discovery endpoint failed; its last good servers stay on the list. */
  topologyError: {
    /** Which source failed: a DNS name, or the discovery endpoint. */
    source: "dns" | "discovery";
    /** The DNS entry as written, or the discovery endpoint. */
    entry: string;
    /** What went wrong. */
    error: Error;
  };
}

/** A listener of event `E`: it receives the event's one payload object. */
export type ClientListener<E extends keyof ClientEvents> = (payload: ClientEvents[E]) => void;

/**
 * `EventEmitter` with its listener methods typed over {@link ClientEvents}. Written out here rather
 * than with `EventEmitter<T>` so that it does not depend on the version of `@types/node`.
 */
export interface ClientEmitter extends EventEmitter {
  on<E extends keyof ClientEvents>(event: E, listener: ClientListener<E>): this;
  once<E extends keyof ClientEvents>(event: E, listener: ClientListener<E>): this;
  off<E extends keyof ClientEvents>(event: E, listener: ClientListener<E>): this;
  addListener<E extends keyof ClientEvents>(event: E, listener: ClientListener<E>): this;
  removeListener<E extends keyof ClientEvents>(event: E, listener: ClientListener<E>): this;
  prependListener<E extends keyof ClientEvents>(event: E, listener: ClientListener<E>): this;
  prependOnceListener<E extends keyof ClientEvents>(event: E, listener: ClientListener<E>): this;
  removeAllListeners(event?: keyof ClientEvents): this;
  emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): boolean;
  listeners<E extends keyof ClientEvents>(event: E): ClientListener<E>[];
  rawListeners<E extends keyof ClientEvents>(event: E): ClientListener<E>[];
  listenerCount<E extends keyof ClientEvents>(event: E, listener?: ClientListener<E>): number;
}

/** `EventEmitter` itself, typed as a {@link ClientEmitter}: the base class of `Client`. */
export const ClientEmitter = EventEmitter as unknown as new () => ClientEmitter;

/**
 * Emits `event` on the client the way `diagnostics_channel` publishes: a listener that throws does
 * not unwind into the client, which emits from the middle of its work (a call being routed, a
 * server being marked down); the listener's error is thrown again on the next tick, where it is the
 * process's uncaught exception, as a listener's error in an I/O callback would be.
 */
export function emitFromClient<E extends keyof ClientEvents>(
  client: ClientEmitter,
  event: E,
  payload: ClientEvents[E],
): void {
  try {
    client.emit(event, payload);
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}
