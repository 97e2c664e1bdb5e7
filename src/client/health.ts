/** The shape of {@link Client.health}: a snapshot of each server and of the local cache. */
import type { Cluster } from "../cluster/cluster.js";
import type { Membership } from "../cluster/membership.js";
import type { ServerState } from "../cluster/server.js";
import type { ServerSource } from "../util/servers.js";
import type { LocalCache } from "./local-cache.js";

/** One server's state, in {@link Client.health}. */
export interface ServerHealth {
  /** `"host:port"`, or a Unix socket's path. */
  label: string;
  /** Where it came from: the `servers` list or `setServers` (`static`), a `dns+` or `dnssrv+` entry, or discovery. */
  source: ServerSource;
  /** `"up"`, `"down"` (failing fast, or out of the ring with `eject`), or `"probing"` (one probe under way). */
  state: ServerState;
  /** Consecutive failures counted towards `failover.failureThreshold`. */
  failures: number;
  /** Milliseconds until the next probe while down; 0 when up. */
  nextProbeIn: number;
  /** Requests written, reply pending. */
  inFlight: number;
  /** Requests waiting to be written. */
  queued: number;
  /** Requests it can queue before `QueueFullError`: `maxQueue`. */
  queueLimit: number;
  /** Round-trip latency, ms (moving average of sampled requests); -1 before any reply. */
  latency: number;
  /** Its zone, when it has one (see the client's `zone` option). */
  zone?: string;
  /** Present (true) on gutter servers. */
  gutter?: true;
  /** Its connections. */
  pool: {
    /** Connections leased (in use). */
    active: number;
    /** Connections that exist, leased or idle. */
    size: number;
    /** Connections idle in the pool. */
    available: number;
  };
}

/** Counters of the local cache, in {@link Client.health}. */
export interface LocalCacheHealth {
  /** Entries held, at most `localCache.max` (expired ones count until dropped). */
  size: number;
  /** Lookups answered by a fresh entry. */
  hits: number;
  /** Lookups that found no fresh entry and went to the server. */
  misses: number;
  /** Expired entries served because the server could not be reached. */
  staleServed: number;
}

/** What {@link Client.health} returns. */
export interface Health {
  /** One entry per server on the list, then one per gutter server. */
  servers: ServerHealth[];
  /** Requests sent again after a connection failure. */
  retries: number;
  /** Reads moved to another replica. */
  failovers: number;
  /**
   * Servers flushed before serving (event `serverFlushed`, with the reason): more writes missed them
   * than are remembered, repairs that writes kept outpacing, a server back on the list after leaving
   * it, or a past ring dropped for room.
   */
  flushes: number;
  /** Hedged reads (option `hedge`). */
  hedges: {
    /** Hedges sent. */
    sent: number;
    /** Hedges whose answer came first. */
    won: number;
    /** Reads not hedged for want of budget (`hedge.maxExtraLoad`). */
    budgetExhausted: number;
  };
  /** Changes of the server list, and failures of its sources (the last good servers stay). */
  topology: TopologyCounts;
  /** The local cache's counters; present only with the `localCache` option. */
  localCache?: LocalCacheHealth;
}

/** Counters of the live topology, in {@link Client.health}. */
export interface TopologyCounts {
  /** Changes of the server list (event `topologyChange`). */
  changes: number;
  /** DNS names that failed to resolve, per refresh (event `topologyError`). */
  dnsErrors: number;
  /** Discovery polls that failed or listed no node (event `topologyError`). */
  discoveryErrors: number;
  /** Reads that missed on a key's new owner and were answered by its previous owner (warm-up). */
  warmUpHits: number;
}

/** The snapshot. */
export function healthOf(
  membership: Membership,
  cluster: Cluster,
  l1: LocalCache | null,
  topology: Omit<TopologyCounts, "warmUpHits">,
): Health {
  return {
    retries: cluster.retried,
    failovers: cluster.failedOver,
    flushes: cluster.freshness.flushes,
    hedges: cluster.hedges,
    topology: { ...topology, warmUpHits: cluster.warmUp?.hits ?? 0 },
    servers: membership.allServers.map((s) => ({
      label: s.label,
      source: s.address.source ?? "static",
      ...(s.address.zone === undefined ? {} : { zone: s.address.zone }),
      ...(s.gutter ? { gutter: true as const } : {}),
      state: s.state,
      failures: s.failures,
      nextProbeIn: s.nextProbeIn,
      inFlight: s.pool.inFlight,
      queued: s.pool.queued,
      queueLimit: s.pool.queueLimit,
      pool: s.pool.stats,
      latency: Math.round(s.pool.latency * 1000) / 1000,
    })),
    ...(l1 === null
      ? {}
      : { localCache: { size: l1.size, hits: l1.hits, misses: l1.misses, staleServed: l1.staleServed } }),
  };
}
