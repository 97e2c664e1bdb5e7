/**
 * Asks an ElastiCache / Memorystore configuration endpoint for the cluster's nodes: one short
 * connection per poll, `config get cluster` — or, on an engine before 1.4.14 that answers `ERROR`,
 * the item `get AmazonElastiCache:cluster` — read up to its `END` line.
 */
import { isIP, Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { ConnectionError, ProtocolError, TimeoutError } from "../errors.js";
import { type ClusterNode, readClusterConfig } from "../protocol/cluster-config.js";
import type { Transport } from "../connection/transport.js";
import { labelOf, type ServerAddress } from "../util/servers.js";

export type { ClusterNode };

/** Where the endpoint is and how to reach it. */
export interface EndpointOptions {
  host: string;
  port: number;
  tls: TlsConnectionOptions | null;
  /** The whole exchange (connect, ask, read), ms. */
  timeout: number;
  /** Makes the socket instead of the network (the simulator's, see `transport.ts`); null: `net`/`tls`. */
  transport: Transport | null;
}

/** The configuration, and whether the endpoint needed the legacy item. */
export interface ClusterConfig {
  version: number;
  nodes: ClusterNode[];
  legacy: boolean;
}

const MODERN = "config get cluster\r\n";
const LEGACY = "get AmazonElastiCache:cluster\r\n";
/** More than this from a configuration endpoint is not a configuration. */
const MAX_REPLY = 1024 * 1024;

/** Asks `o`'s endpoint once; `legacy` starts with the item (the endpoint needed it before). */
export function askClusterConfig(
  o: EndpointOptions,
  legacy: boolean,
  signal?: AbortSignal,
): Promise<ClusterConfig> {
  const where = `${o.host}:${o.port}`;
  return new Promise<ClusterConfig>((resolve, reject) => {
    let text = "";
    let asked = legacy ? LEGACY : MODERN;
    const socket =
      o.transport !== null
        ? o.transport({ host: o.host, port: o.port, keepAlive: false, connectTimeout: o.timeout })
        : o.tls === null
          ? new Socket().connect({ host: o.host, port: o.port })
          : tlsConnect({ ...o.tls, host: o.host, port: o.port, servername: o.tls.servername ?? o.host });
    const done = (err: Error | null, config?: ClusterConfig) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
      socket.destroy();
      if (err === null) resolve(config!);
      else reject(err);
    };
    const timer = setTimeout(
      () => done(new TimeoutError(`discovery endpoint ${where} did not answer within ${o.timeout} ms`)),
      o.timeout,
    );
    timer.unref();
    const abort = () => done(new ConnectionError(`discovery of ${where} stopped: the client closed`));
    if (signal?.aborted === true) abort();
    signal?.addEventListener("abort", abort, { once: true });
    socket.once(o.tls === null || o.transport !== null ? "connect" : "secureConnect", () =>
      socket.write(asked),
    );
    socket.on("error", (err) =>
      done(new ConnectionError(`discovery endpoint ${where}: ${err.message}`, { cause: err })),
    );
    socket.on("close", () => done(new ConnectionError(`discovery endpoint ${where} closed the connection`)));
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      if (text.length > MAX_REPLY)
        return done(new ProtocolError(`discovery endpoint ${where}: reply too long`));
      let reply: ReturnType<typeof readClusterConfig>;
      try {
        reply = readClusterConfig(text, isIpLiteral);
      } catch (err) {
        return done(err as Error);
      }
      if (reply.kind === "incomplete") return;
      if (reply.kind === "config") {
        return done(null, { version: reply.version, nodes: reply.nodes, legacy: asked === LEGACY });
      }
      if (reply.line === "ERROR" && asked === MODERN) {
        // An engine before 1.4.14: the configuration is an item.
        asked = LEGACY;
        text = "";
        socket.write(asked);
        return;
      }
      done(
        new ProtocolError(`discovery endpoint ${where} answered ${JSON.stringify(reply.line.slice(0, 120))}`),
      );
    });
  });
}

/** An IPv4 or IPv6 literal. */
function isIpLiteral(s: string): boolean {
  return isIP(s) !== 0;
}

/** A discovered node: reached by its IP, its certificate checked against its host name. */
export function addressOf(n: ClusterNode): ServerAddress {
  if (n.ip === "") return { host: n.host, port: n.port, weight: 1, source: "discovery" };
  return { host: n.ip, port: n.port, weight: 1, servername: n.host, source: "discovery" };
}

/** Whether `a` lists the same servers as `b`, in the same order. */
export function sameList(a: ServerAddress[], b: ServerAddress[] | null): boolean {
  return b !== null && a.length === b.length && a.every((x, i) => labelOf(x) === labelOf(b[i]!));
}
