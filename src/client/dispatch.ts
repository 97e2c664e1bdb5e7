/**
 * What every command does between its checks and the cluster: build the call, keep the local cache
 * true to the writes made through this client, and hand the call to the cluster. `Client` is the
 * public surface over this.
 */
import { Call, type CallHandler } from "../cluster/call.js";
import type { Cluster } from "../cluster/cluster.js";
import type { Key } from "../keys.js";
import type { CallOptions, SetOptions } from "../options.js";
import { keyId, Op } from "../protocol/frame.js";
import type { PooledBytes } from "../protocol/pooled-bytes.js";
import type { BigValues } from "./big-values.js";
import type { BigWrite } from "./big-write.js";
import type { CallBuilder } from "./call-builder.js";
import { FETCH_MISS } from "./fetch.js";
import type { LocalReads } from "./local-reads.js";
import type { FetchReply, Handlers } from "./replies.js";

export class Dispatch {
  constructor(
    readonly build: CallBuilder,
    readonly cluster: Cluster,
    /** Reads through the local cache, or null without one. */
    readonly local: LocalReads | null,
    readonly handlers: Handlers,
    /** Big values (`bigValues`), or null when off. */
    readonly big: BigValues | null = null,
  ) {}

  /** A single-key command, sent (its options checked by the caller). */
  keyed(
    op: Op,
    handler: CallHandler,
    key: Key,
    options: CallOptions | undefined,
    ttlSeconds?: number,
  ): Promise<unknown> {
    const big = this.big;
    if (big?.reachChunks === true && (op === Op.Delete || op === Op.Touch)) {
      try {
        if (op === Op.Delete) this.local?.cache.delete(this.local.localKey(key));
      } catch (err) {
        return Promise.reject(err);
      }
      return big.reach(op, key, options, ttlSeconds);
    }
    let call: Call;
    try {
      call = this.build.keyed(op, handler, key, options, ttlSeconds);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.local !== null && (op === Op.Delete || op === Op.Invalidate || op === Op.GetAndTouch)) {
      this.local.forget(call.frame.key, call.frame.base64);
    }
    const sent = this.cluster.execute(call);
    if (big === null || !(op === Op.Get || op === Op.Gets || op === Op.GetAndTouch)) return sent;
    return big.read(op, call, key, options, sent);
  }

  /** `getMany` of keys the local cache (if any) did not answer. */
  readonly getMany = (list: Key[], options: CallOptions | undefined): Promise<Map<Key, unknown>> => {
    const out = new Map<Key, unknown>();
    if (list.length === 0) return Promise.resolve(out);
    let call: Call;
    try {
      call = this.batch(Op.GetMany, this.handlers.getMany, list, options);
    } catch (err) {
      return Promise.reject(err);
    }
    // Every server's attempt (and a replica's, on failover) puts its hits straight into this map.
    call.result = out;
    call.miss = out;
    const sent = this.cluster.execute(call) as Promise<Map<Key, unknown>>;
    const big = this.big;
    return big === null ? sent : sent.then((hits) => big.many(hits, call, options));
  };

  /** A multi-key command, built (writes drop their keys from the local cache). */
  batch(op: Op, handler: CallHandler, keys: Key[], options: CallOptions | undefined): Call {
    const call = this.build.batch(op, handler, keys, options);
    const local = this.local;
    if (local !== null && op !== Op.GetMany) {
      const b = call.frame.batch!;
      for (let i = 0; i < b.keys.length; i++) local.forget(b.keys[i]!, b.keysBase64?.[i] === true);
    }
    return call;
  }

  /** A storage command (`mode`, with `C<cas>` when `cas` is given), sent (its options checked by the caller). */
  store(
    mode: number,
    key: Key,
    value: unknown,
    options: SetOptions | undefined,
    cas: bigint | null,
    tracedAs: string | null = null,
  ): Promise<boolean> {
    let call: Call | BigWrite;
    let pooled: PooledBytes | null = null;
    try {
      if (this.big === null) {
        call = this.build.store(mode, key, value, options, cas);
        // Only a plain set gives its copy's memory back: another write may copy its frame to replicas
        // after it settled (`cluster/replication.ts`), so its memory is collected instead.
        if (mode === 0 && cas === null) pooled = this.build.pooled;
      } else call = this.big.store(mode, key, value, options, cas);
    } catch (err) {
      return Promise.reject(err);
    }
    call.tracedAs = tracedAs;
    const local = this.local;
    if (local === null) return pooled === null ? this.#send(call) : this.#givingBack(call, pooled);
    local.forget(call.frame.key, call.frame.base64);
    const sent = pooled === null ? this.#send(call) : this.#givingBack(call, pooled);
    if (mode !== 0 || cas !== null) return sent;
    // A plain set through this client: the local cache takes the new value once it is stored.
    const localKey = keyId(call.frame.key, call.frame.base64);
    return sent.then((ok) => {
      if (ok) local.cache.set(localKey, value);
      return ok;
    });
  }

  /**
   * `setMany` of `list` (not empty): one quiet batch; with `bigValues`, each value over the threshold
   * is written as {@link Dispatch.store} would, and its answer takes its place.
   */
  storeMany(list: (readonly [Key, unknown])[], options: SetOptions | undefined): Promise<boolean[]> {
    const big = this.big;
    if (big === null) {
      const values = this.build.encodeValues(list, options);
      const call = this.batch(
        Op.StoreMany,
        this.handlers.writeMany,
        list.map((e) => e[0]),
        options,
      );
      this.build.attachValues(call, values);
      return this.cluster.execute(call) as Promise<boolean[]>;
    }
    const encoded = big.encodeMany(list, options);
    const sends: Promise<boolean[]>[] = [];
    if (encoded.smallAt.length > 0) {
      const keys = encoded.smallAt.map((i) => list[i]![0]);
      const call = this.batch(Op.StoreMany, this.handlers.writeMany, keys, options);
      this.build.attachValues(call, encoded.small);
      sends.push(this.cluster.execute(call) as Promise<boolean[]>);
    }
    for (const write of encoded.big.values()) {
      this.local?.forget(write.frame.key, write.frame.base64);
      sends.push(write.run().then((ok) => [ok]));
    }
    return Promise.all(sends).then((answers) => {
      const out = new Array<boolean>(list.length).fill(false);
      const small = encoded.smallAt.length > 0 ? answers.shift()! : [];
      encoded.smallAt.forEach((at, j) => {
        out[at] = small[j]!;
      });
      [...encoded.big.keys()].forEach((at, j) => {
        out[at] = answers[j]![0]!;
      });
      return out;
    });
  }

  /**
   * Sends a plain set whose value is a copy in pooled memory, and gives that memory back once the
   * call has settled: its attempts are then settled or never sent, and a socket still writing the
   * copy holds it itself (`connection/pipeline.ts`).
   */
  #givingBack(call: Call | BigWrite, pooled: PooledBytes): Promise<boolean> {
    return this.#send(call).then(
      (ok) => {
        pooled.release();
        return ok;
      },
      (err: unknown) => {
        pooled.release();
        throw err;
      },
    );
  }

  #send(call: Call | BigWrite): Promise<boolean> {
    return (call instanceof Call ? this.cluster.execute(call) : call.run()) as Promise<boolean>;
  }

  /** One `mg … N R` round trip of `fetch`. */
  fetchOnce(key: Key, lockTtl: number, recache: number, options: CallOptions): Promise<FetchReply> {
    let call: Call;
    try {
      call = this.build.fetchRead(key, lockTtl, recache, options);
    } catch (err) {
      return Promise.reject(err);
    }
    call.miss = FETCH_MISS;
    const sent = this.cluster.execute(call) as Promise<FetchReply>;
    const big = this.big;
    return big === null ? sent : sent.then((r) => big.fetched(r, key, call, options));
  }
}
