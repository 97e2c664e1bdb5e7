/** The cluster's settings, resolved by the client from its options. */
import type { CallHandler } from "./call.js";
import type { FreshnessEvents, FreshnessOptions } from "./freshness/freshness.js";
import type { HedgeOptions } from "./hedging.js";
import type { WarmUpOptions } from "./warm-up.js";

/** Retry settings. */
export interface RetryOptions {
  attempts: number;
  baseDelay: number;
  maxDelay: number;
}

/** Cluster settings (resolved by the client). */
export interface ClusterOptions extends FreshnessOptions {
  retries: RetryOptions;
  /** Reads of an unreachable server resolve as a miss instead of failing. */
  failOpen: boolean;
  /** Longest TTL of a write on a gutter server, seconds (null: no gutter). */
  gutterTtl: number | null;
  /** The client, for trace contexts. */
  client: object;
  /** What the freshness owner reports (write failures, flushes). */
  events: FreshnessEvents;
  /** Reply handlers of a raw read (value, flags, remaining TTL) and a store: the copies to replicas of a write run on the owner alone. */
  warmReadHandler: CallHandler;
  storeHandler: CallHandler;
  traceKeys: boolean;
  /** Hedged reads, or null (off). */
  hedge: HedgeOptions | null;
  /** Warm-up after a change of the server list, or null (off). */
  warmUp: WarmUpOptions | null;
}
