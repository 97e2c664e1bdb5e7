/**
 * `diagnostics_channel` channels: where APM and OpenTelemetry hook in. Created once; every publish is
 * guarded by `hasSubscribers`, so they cost nothing when nobody listens.
 *
 * - `memcachio:command` (TracingChannel: start, end, asyncStart, asyncEnd, error): one per request sent
 *   to a server. Context: {@link CommandContext} — command, server, key count, the outcome (`hit`,
 *   `found`, `error`), and the keys only when the client was created with `traceKeys: true`. Never a value.
 * - `memcachio:server:down` `{ server, error }`, `memcachio:server:up` `{ server }`.
 * - `memcachio:connection:open` `{ server }`, `memcachio:connection:close` `{ server, error? }`.
 * - `memcachio:topology` `{ added, removed, reason }` when the server list changed, and
 *   `memcachio:topology:error` `{ source, entry, error }` when a DNS name or the discovery endpoint
 *   failed (the last good servers stay).
 */
import diagnostics from "node:diagnostics_channel";

/** The context of a `memcachio:command` trace. */
export interface CommandContext {
  /** `get`, `gets`, `set`, `add`, `replace`, `append`, `prepend`, `cas`, `delete`, `incr`, `decr`, `touch`, `gat`, `getMany`, `setMany`, `deleteMany`, `fetch`, `invalidate`, `stats`, `version`, `flush`, `noop`. */
  command: string;
  /** `"host:port"` of the server the request went to. */
  server: string;
  /** Keys in the request (1, or the batch's size; 0 for server commands). */
  keyCount: number;
  /** The keys as sent (prefix applied, base64 when needed), only with `traceKeys: true`. */
  keys?: string[];
  /** The client that sent it (to tell clients apart; not serialisable). */
  client: object;
  /** On asyncEnd of get, gets, gat, fetch: whether the key was found. */
  hit?: boolean;
  /** On asyncEnd of getMany: how many of the keys were found. */
  found?: number;
  /** Present (true) on the hedge of a slow read: the same read sent to another replica. */
  hedge?: true;
  /** The server's zone, when it has one (see the client's `zone` option). */
  zone?: string;
  /** On error (and asyncEnd after it): the error. */
  error?: unknown;
  /**
   * On asyncEnd (with no `error`) of a request whose call settled another way before its reply came —
   * the slower of a hedged read and its hedge, the other parts of a batch that failed: no outcome.
   */
  abandoned?: true;
}

/** Channel names. */
export const CHANNELS = {
  /** The tracing channel of each request sent to a server; its context is a {@link CommandContext}. */
  command: "memcachio:command",
  /** `{ server, error }`: a server went down. */
  serverDown: "memcachio:server:down",
  /** `{ server }`: a down server answered a probe and takes traffic again. */
  serverUp: "memcachio:server:up",
  /** `{ server }`: a connection to a server was established. */
  connectionOpen: "memcachio:connection:open",
  /** `{ server, error? }`: a connection closed; `error` is present when it failed. */
  connectionClose: "memcachio:connection:close",
  /** `{ added, removed, reweighted?, reason }`: the server list changed. */
  topology: "memcachio:topology",
  /** `{ source, entry, error }`: a DNS name or the discovery endpoint failed (the last good servers stay). */
  topologyError: "memcachio:topology:error",
} as const;

/** The command tracing channel. */
export const commandChannel = diagnostics.tracingChannel<unknown, CommandContext>(CHANNELS.command);
export const serverDownChannel = diagnostics.channel(CHANNELS.serverDown);
export const serverUpChannel = diagnostics.channel(CHANNELS.serverUp);
export const connectionOpenChannel = diagnostics.channel(CHANNELS.connectionOpen);
export const connectionCloseChannel = diagnostics.channel(CHANNELS.connectionClose);
export const topologyChannel = diagnostics.channel(CHANNELS.topology);
export const topologyErrorChannel = diagnostics.channel(CHANNELS.topologyError);

/** Publishes a connection's close (with the error that closed it, if any) when anyone listens. */
export function publishConnectionClose(server: string, error?: Error): void {
  if (!connectionCloseChannel.hasSubscribers) return;
  connectionCloseChannel.publish(error === undefined ? { server } : { server, error });
}

/** Whether anyone listens to command traces (checked per request: one property read). */
export function tracing(): boolean {
  return (
    commandChannel.start.hasSubscribers ||
    commandChannel.asyncEnd.hasSubscribers ||
    commandChannel.error.hasSubscribers
  );
}
