/**
 * Builds what stands under a client from its resolved options: the servers and their ring
 * (membership), the cluster that executes calls, the reply handlers of its protocol, the call
 * builder and the local cache — wired to the client's events.
 */
import { type ClientEmitter, emitFromClient } from "./events.js";
import { Call, type CallAttempt } from "../cluster/call.js";
import { Cluster } from "../cluster/cluster.js";
import { Membership } from "../cluster/membership.js";
import { serverDownChannel, serverUpChannel, topologyChannel, topologyErrorChannel } from "../diagnostics.js";
import { KeyEncoder } from "../keys.js";
import type { ResolvedOptions } from "../options.js";
import { Frame, Op } from "../protocol/frame.js";
import { ValueCodec } from "../serialization/codec.js";
import { refusedCommands } from "./arguments.js";
import { ChunkBytes, IndexAwareCodec } from "./big-value-codec.js";
import { BigValues } from "./big-values.js";
import { CallBuilder } from "./call-builder.js";
import { LocalCache } from "./local-cache.js";
import { LocalReads } from "./local-reads.js";
import { Names } from "./names.js";
import { type Handlers, handlersFor } from "./replies.js";
import { Topology } from "./topology.js";

/** Most keys remembered per server as possibly stale (write-failure tracking); the newest are kept. */
const MAX_WRITE_FAILURES = 10_000;
/** Without `warmUp`, how long misses on a replica that may have restarted empty read the next replica, ms. */
const REPLICA_READ_THROUGH_MS = 60_000;

/** The parts of a client. */
export interface ClientParts {
  build: CallBuilder;
  handlers: Handlers;
  membership: Membership;
  cluster: Cluster;
  local: LocalReads | null;
  topology: Topology;
  /** Big values, or null when `bigValues` is off. */
  big: BigValues | null;
}

/**
 * `client` gets the events (`serverDown`, `serverUp`, `writeFailure`, `serverFlushed`,
 * `staleServed`, `topologyChange`, `topologyError`).
 */
export function assemble(o: ResolvedOptions, client: ClientEmitter): ClientParts {
  const keys = new KeyEncoder(o.keyPrefix, o.protocol);
  // With big values on, index items decode to what the client follows to their chunks.
  const codec =
    o.bigValues === null
      ? new ValueCodec(o.codec, o.compression, o.copyBuffers)
      : new IndexAwareCodec(o.codec, o.compression, o.copyBuffers);
  const context = {
    codec,
    // A plain read was handed the recache win of a stale item (`X W`) it will not use: give it back
    // (`md <key> I`, keeping the TTL) so that the next `fetch` reloads the item.
    releaseWin: (a: CallAttempt, token: string, base64: boolean) => {
      if (a.target === undefined || build.closed) return;
      const frame = new Frame(Op.Invalidate);
      frame.key = token;
      frame.base64 = base64;
      const call = new Call(frame, handlers.delete, o.timeout);
      call.routingKey = a.call.routingKey;
      cluster.executeOn(a.target, call).catch(() => undefined);
    },
  };
  const handlers = handlersFor(o.protocol, context);
  const build = new CallBuilder(keys, codec, handlers, o.timeout, o.maxValueSize, refusedCommands(o.proxy));
  const local =
    o.localCache === null
      ? null
      : new LocalReads(new LocalCache(o.localCache), keys, (key, error) =>
          emitFromClient(client, "staleServed", { key, error }),
        );
  const names = new Names(o.dns);
  // What every connection needs of the options, and the names' resolver.
  const connection = {
    connectTimeout: o.connectTimeout,
    socketTimeout: o.socketTimeout,
    maxInFlight: o.maxInFlight,
    maxQueue: o.maxQueue,
    maxValueSize: o.maxValueSize,
    keepAlive: o.keepAlive,
    allowExitOnIdle: o.allowExitOnIdle,
    maxIdle: o.pool.reconnectIdleMillis,
    protocol: o.protocol,
    tls: o.tls,
    auth: o.auth,
    lookup: names.lookup,
    transport: o.transport,
  };
  const membership: Membership = new Membership(
    o.servers,
    connection,
    o.pool,
    o.failover,
    {
      eject: o.failover.eject,
      replicas: o.replicas,
      gutter: o.gutter?.servers,
      zone: o.zone,
      zoneOf: o.zoneOf,
    },
    {
      serverDown: (label, error) => {
        if (serverDownChannel.hasSubscribers) serverDownChannel.publish({ server: label, error });
        topology.serverDown(label); // (made below; no server goes down before the constructor returns)
        emitFromClient(client, "serverDown", { server: label, error });
      },
      serverUp: (label) => {
        if (serverUpChannel.hasSubscribers) serverUpChannel.publish({ server: label });
        emitFromClient(client, "serverUp", { server: label });
      },
    },
  );
  const cluster = new Cluster(membership, {
    retries: o.retries,
    failOpen: o.failOpen,
    gutterTtl: o.gutter?.ttl ?? null,
    client,
    traceKeys: o.traceKeys,
    deleteHandler: handlers.delete,
    deleteManyHandler: handlers.writeMany,
    flushHandler: handlers.flush,
    maxWriteFailures: MAX_WRITE_FAILURES,
    repairTimeout: o.connectTimeout,
    events: {
      writeFailure: (label, key, error) =>
        emitFromClient(client, "writeFailure", { server: label, key, error }),
      flushed: (label, reason) => emitFromClient(client, "serverFlushed", { server: label, reason }),
    },
    warmReadHandler: handlers.warmRead,
    storeHandler: handlers.store,
    // With one copy per key there is nowhere to hedge: no watch, no latency samples.
    hedge: o.replicas > 1 ? o.hedge : null,
    // With replicas, a miss on a replica that may have restarted empty asks the next one (see `warm-up.ts`).
    warmUp:
      o.warmUp === null && o.replicas === 1
        ? null
        : {
            window: o.warmUp?.window ?? 0,
            rejoinWindow: o.warmUp?.window ?? REPLICA_READ_THROUGH_MS,
            copy: o.warmUp !== null,
            copyTtl: o.warmUp?.copyTtl ?? 60,
            read: handlers.warmRead,
            store: handlers.store,
            noop: handlers.noop,
            decode: (item) => codec.decode(item.data, 0, item.data.length, item.flags),
          },
  });
  const topology = new Topology(o, names, membership, {
    change: (change) => {
      if (topologyChannel.hasSubscribers) topologyChannel.publish(change);
      emitFromClient(client, "topologyChange", change);
    },
    error: (source, entry, error) => {
      if (topologyErrorChannel.hasSubscribers) topologyErrorChannel.publish({ source, entry, error });
      emitFromClient(client, "topologyError", { source, entry, error });
    },
  });
  const first = topology.start();
  if (first !== null) cluster.waitFor(first);
  const big =
    o.bigValues === null
      ? null
      : new BigValues(
          o.bigValues,
          build,
          cluster,
          handlers,
          handlersFor(o.protocol, { codec: new ChunkBytes(), releaseWin: context.releaseWin }),
          o.replicas,
        );
  return { build, handlers, membership, cluster, local, topology, big };
}
