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
  serverDown: { server: string; error: Error };
  /** A down server answered a probe and was repaired: it takes traffic again. */
  serverUp: { server: string };
  /** A write did not reach `server`: the key is deleted there before the server serves again. */
  writeFailure: { server: string; key: string; error: unknown };
  /**
   * `server` was flushed before serving again; `reason` says why: more writes missed it than are
   * remembered, repairs that writes kept outpacing, it left the list and came back, or the ring its
   * copies lived on was dropped for room.
   */
  serverFlushed: { server: string; reason: string };
  /**
   * The local cache answered with an expired entry because the server could not be reached. `key` is
   * as the caller gave it (a string or a Buffer).
   */
  staleServed: { key: Key; error: unknown };
  /** The server list changed: labels added, removed and reweighted (when some were), and what changed it. */
  topologyChange: TopologyChange & { reason: TopologyReason };
  /** A DNS name or the discovery endpoint failed; its last good servers stay on the list. */
  topologyError: { source: "dns" | "discovery"; entry: string; error: Error };
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
