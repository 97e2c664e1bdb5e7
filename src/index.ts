/**
 * memcachio — a fast, resilient memcached client for Node.js.
 *
 * @packageDocumentation
 */
export {
  Client,
  type ClientEvents,
  type LocalCacheHealth,
  type ServerHealth,
  type TopologyCounts,
} from "./client.js";
export type { ClientListener } from "./client/events.js";
export type { Health } from "./client/health.js";
export type { TopologyChange } from "./cluster/membership.js";
export type { ServerState } from "./cluster/server.js";
export type { TopologyReason } from "./client/topology.js";
export type { ServerSource, ZoneOf } from "./util/servers.js";
export { HashRing, ketamaHash } from "./cluster/ketama.js";
export type { GetsResult } from "./client/replies.js";
export { CHANNELS, type CommandContext } from "./diagnostics.js";
export {
  AbortError,
  AuthError,
  ClientClosedError,
  ClientError,
  ConnectionError,
  type ConnectionErrorCode,
  ConnectTimeoutError,
  ERROR_CODES,
  InvalidArgumentError,
  InvalidKeyError,
  MemcachedError,
  type MemcachedErrorCode,
  type MemcachedErrorOptions,
  NoServersError,
  ProtocolError,
  QueueFullError,
  SerializationError,
  ServerError,
  ServerUnavailableError,
  SocketTimeoutError,
  TimeoutError,
  TLSError,
  UnsupportedError,
  ValueTooLargeError,
} from "./errors.js";
export { type Key, MAX_BASE64_KEY_BYTES, MAX_KEY_LENGTH } from "./keys.js";
export type { LocalCacheOptions } from "./client/local-cache.js";
export type { ConnectionPoolOptions } from "./client/pool-options.js";
export type {
  ArithOptions,
  AuthOptions,
  CallOptions,
  BigValuesOptions,
  ClientOptions,
  DiscoveryOptions,
  DnsOptions,
  FailoverOptions,
  HedgeOptions,
  FetchOptions,
  FlushOptions,
  InvalidateOptions,
  Protocol,
  ProxyKind,
  ServerSpec,
  SetOptions,
  WarmUpOptions,
} from "./options.js";
export { type Codec, Flags } from "./serialization/codec.js";
export type { CompressionOptions } from "./serialization/compression.js";
