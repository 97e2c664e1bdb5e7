/**
 * The events a {@link Client} emits (it never emits `error`).
 */
import type { TopologyChange } from "../cluster/membership.js";
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
  /** The local cache answered with an expired entry because the server could not be reached. */
  staleServed: { key: string; error: unknown };
  /** The server list changed: labels added, removed and reweighted (when some were), and what changed it. */
  topologyChange: TopologyChange & { reason: TopologyReason };
  /** A DNS name or the discovery endpoint failed; its last good servers stay on the list. */
  topologyError: { source: "dns" | "discovery"; entry: string; error: Error };
}
