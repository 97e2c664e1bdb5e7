/**
 * Big values (`bigValues`): a value whose encoded form is over the threshold is stored as chunks plus
 * an index item, in mcrouter's BigValueRoute format (`big-value-format.ts`), and read back whole.
 *
 * - Writes store every chunk first (one `setMany`), then the index with the command's own mode, TTL
 *   and CAS: a reader that finds the index finds chunks that were all stored. A chunk not stored
 *   leaves the index unwritten and the call resolves false.
 * - Reads get the key as usual; an index item decodes to a {@link BigIndex} (`big-value-codec.ts`),
 *   and then every chunk is read in one `getMany`. A missing chunk is a miss: each write has its own
 *   suffix, so chunks of two writes never mix.
 * - The whole command runs within one deadline: each further round trip gets what is left of it.
 */
import type { Call } from "../cluster/call.js";
import type { Cluster } from "../cluster/cluster.js";
import { InvalidKeyError, ValueTooLargeError } from "../errors.js";
import type { Key } from "../keys.js";
import type { CallOptions, SetOptions } from "../options.js";
import { Frame, MODE_APPEND, MODE_PREPEND, Op } from "../protocol/frame.js";
import { type PooledBytes, takeBytes } from "../protocol/pooled-bytes.js";
import { ttl } from "./arguments.js";
import { NOT_A_VALUE } from "./big-value-codec.js";
import { BigIndex, chunkKey, chunkKeys, indexValue, newSuffix, split } from "./big-value-format.js";
import type { ResolvedBigValues } from "./big-value-options.js";
import { BigWrite, rest } from "./big-write.js";
import type { CallBuilder, EncodedValues } from "./call-builder.js";
import type { FetchReply, GetsResult, Handlers } from "./replies.js";

/** Chunks an index may claim: `maxSize` bytes in chunks of at least this size. */
const SMALLEST_CHUNK = 1024;

/** Encoded values of a `setMany` with big values among them. */
export interface EncodedMany {
  /** The values stored as they are, in one batch, and their places in the call's entries. */
  small: EncodedValues;
  smallAt: number[];
  /** The big ones' writes, by place. */
  big: Map<number, BigWrite>;
}

/** The big-value side of one client (see the file's comment). */
export class BigValues {
  /** Most chunks an index may claim; more is refused as over `maxSize`. */
  readonly #maxChunks: number;

  constructor(
    readonly o: ResolvedBigValues,
    readonly build: CallBuilder,
    readonly cluster: Cluster,
    readonly handlers: Handlers,
    /** Handlers that read chunks as raw bytes (`ChunkBytes`). */
    readonly chunkHandlers: Handlers,
    /** Copies of each key (the `replicas` option). */
    readonly replicas = 1,
  ) {
    this.#maxChunks = Math.ceil(o.maxSize / SMALLEST_CHUNK);
  }

  get reachChunks(): boolean {
    return this.o.reachChunks;
  }

  // ── writes ──────────────────────────────────────────────────────────────────

  /** A store call of `value`, or the write of its chunks and index when it is over the threshold. */
  store(
    mode: number,
    key: Key,
    value: unknown,
    options: SetOptions | undefined,
    cas: bigint | null,
  ): Call | BigWrite {
    const b = this.build;
    // The checks of a plain store, in its order: key, TTL, value.
    b.keys.encode(key);
    ttl(options?.ttl);
    const appends = mode === MODE_APPEND || mode === MODE_PREPEND;
    const c = b.codec;
    c.encode(value, !appends);
    if (c.length <= this.o.threshold) return b.storeBytes(mode, key, c.data, c.length, c.flags, options, cas);
    if (appends) {
      throw new ValueTooLargeError(
        `${mode === MODE_APPEND ? "append" : "prepend"} data is ${c.length} bytes encoded, over bigValues.threshold ` +
          `(${this.o.threshold}): it is glued to the stored bytes and cannot be split; store the whole value with set`,
      );
    }
    return this.split(mode, key, c.data, c.length, c.flags, options, cas, c.pooled);
  }

  /** The write of an encoded value over the threshold: its chunks, then its index. */
  split(
    mode: number,
    key: Key,
    data: string | Buffer,
    length: number,
    flags: number,
    options: SetOptions | undefined,
    cas: bigint | null,
    /** The pooled memory `data` is the bytes of (held for this write), or null. */
    pooled: PooledBytes | null,
  ): BigWrite {
    const o = this.o;
    if (length > o.maxSize) {
      throw new ValueTooLargeError(
        `value is ${length} bytes encoded; bigValues.maxSize is ${o.maxSize}: store less, turn on ` +
          "compression, or raise bigValues.maxSize",
      );
    }
    const b = this.build;
    let p = pooled;
    if (typeof data === "string") {
      p = takeBytes(length);
      // As many bytes as chars: ASCII, whose latin1 bytes are its UTF-8 bytes.
      p.bytes.write(data, 0, length, length === data.length ? "latin1" : "utf8");
    }
    const parts = split(p === null ? (data as Buffer) : p.bytes, o.threshold, p);
    const suffix = newSuffix();
    const keys = parts.map((_, i) => chunkKey(key, i, suffix));
    let chunks: Call;
    try {
      chunks = b.batch(Op.StoreMany, this.handlers.writeMany, keys, options);
    } catch (err) {
      if (!(err instanceof InvalidKeyError)) throw err;
      throw new InvalidKeyError(
        `a big value's chunks are stored under "<key>:<index>:<suffix>", up to ${keys.length - 1} and ` +
          `10 digits longer than the key, and this key leaves no room for them: ${err.message}`,
        { cause: err },
      );
    }
    b.attachValues(chunks, {
      ttl: ttl(options?.ttl),
      data: parts,
      lengths: parts.map((p) => p.length),
      flags: parts.map(() => flags),
    });
    const frame = new Frame(Op.Store);
    frame.key = b.keys.encode(key);
    frame.base64 = b.keys.base64;
    return new BigWrite(
      this,
      frame,
      key,
      mode,
      cas,
      flags,
      indexValue(parts.length, suffix),
      chunks,
      options,
      p,
    );
  }

  /** Encodes the entries of a `setMany`: values over the threshold become writes of their own. */
  encodeMany(entries: (readonly [Key, unknown])[], options: SetOptions | undefined): EncodedMany {
    const small: EncodedValues = { ttl: ttl(options?.ttl), data: [], lengths: [], flags: [] };
    const out: EncodedMany = { small, smallAt: [], big: new Map() };
    const c = this.build.codec;
    for (let i = 0; i < entries.length; i++) {
      const [key, value] = entries[i]!;
      c.encode(value, true);
      if (c.length > this.o.threshold) {
        out.big.set(i, this.split(0, key, c.data, c.length, c.flags, options, null, c.pooled));
        continue;
      }
      small.data.push(c.data);
      small.lengths.push(c.length);
      small.flags.push(c.flags);
      out.smallAt.push(i);
    }
    return out;
  }

  // ── reads ───────────────────────────────────────────────────────────────────

  /** What a read (`op`) of `key` by `call` resolves to, with a big value read whole. */
  async read(
    op: Op,
    call: Call,
    key: Key,
    options: CallOptions | undefined,
    sent: Promise<unknown>,
  ): Promise<unknown> {
    const found = await sent;
    if (op !== Op.Gets) return this.value(found, key, call, options);
    const g = found as GetsResult | undefined;
    if (g === undefined || !(g.value instanceof BigIndex || g.value === NOT_A_VALUE)) return g;
    const value = await this.value(g.value, key, call, options);
    if (value === undefined) return undefined;
    return { value, cas: g.cas, flags: (g.value as BigIndex).flags } satisfies GetsResult;
  }

  /** A decoded read result: the value, with an index followed to its chunks (undefined: a miss). */
  value(found: unknown, key: Key, call: Call, options: CallOptions | undefined): unknown {
    if (found === NOT_A_VALUE) return undefined;
    if (!(found instanceof BigIndex)) return found;
    return this.#join([[key, found]], call, options, true).then((joined) => joined[0]);
  }

  /** A getMany's hits, with each big value read whole (every chunk of every one in one `getMany`). */
  async many(
    hits: Map<Key, unknown>,
    call: Call,
    options: CallOptions | undefined,
  ): Promise<Map<Key, unknown>> {
    const found: [Key, BigIndex][] = [];
    for (const [key, v] of hits) {
      if (v === NOT_A_VALUE) hits.delete(key);
      else if (v instanceof BigIndex) found.push([key, v]);
    }
    if (found.length === 0) return hits;
    const values = await this.#join(found, call, options, false);
    found.forEach(([key], i) => {
      const v = values[i];
      if (v === undefined) hits.delete(key);
      else hits.set(key, v);
    });
    return hits;
  }

  /**
   * A `fetch` read. An index whose chunks are gone is handed to the caller as a win with the index's
   * CAS: its write-back replaces the index unless someone else did first.
   */
  async fetched(r: FetchReply, key: Key, call: Call, options: CallOptions): Promise<FetchReply> {
    if (!r.hasValue || !(r.value instanceof BigIndex || r.value === NOT_A_VALUE)) return r;
    const value = await this.value(r.value, key, call, options);
    if (value !== undefined) return { ...r, value };
    return { ...r, hasValue: false, value: undefined, won: true };
  }

  /**
   * `delete` or `touch` that reach the chunks too (`reachChunks`): the key is read first; a touch
   * renews the chunks before the index (the index never outlives them), a delete removes the index
   * before the chunks (no reader finds an index with chunks missing, only a miss).
   */
  async reach(
    op: Op.Delete | Op.Touch,
    key: Key,
    options: CallOptions | undefined,
    ttlSeconds?: number,
  ): Promise<boolean> {
    const b = this.build;
    const handler = op === Op.Delete ? this.handlers.delete : this.handlers.touch;
    if (op === Op.Touch) ttl(ttlSeconds);
    const read = b.keyed(Op.Get, this.handlers.get, key, options);
    let found: unknown;
    try {
      found = await this.cluster.execute(read);
    } catch {
      found = undefined; // the index cannot be read: the command reaches the key alone
    }
    const what = op === Op.Delete ? "delete" : "touch";
    const next = rest(options, read.endsAt(), what);
    const keys = found instanceof BigIndex ? chunkKeys(key, found) : [];
    if (op === Op.Touch && keys.length > 0) {
      const touched = await Promise.all(
        keys.map((k) => this.cluster.execute(b.keyed(Op.Touch, handler, k, next, ttlSeconds))),
      );
      // A chunk is gone: the value already reads as a miss.
      if (!touched.every(Boolean)) return false;
      next.timeout = rest(options, read.endsAt(), what).timeout;
    }
    const done = (await this.cluster.execute(b.keyed(op, handler, key, next, ttlSeconds))) as boolean;
    if (op === Op.Delete && keys.length > 0) {
      // The value is gone with its index: chunks that could not be deleted expire or are evicted.
      const left = Math.floor(read.endsAt() - performance.now());
      if (left >= 1) {
        const chunks = b.batch(Op.DeleteMany, this.handlers.writeMany, keys, { ...next, timeout: left });
        chunks.result = new Array<boolean>(keys.length).fill(false);
        await this.cluster.execute(chunks).catch(() => undefined);
      }
    }
    return done;
  }

  /**
   * The values of `found` (key, index) read whole: undefined for each with a chunk missing. A value
   * over `maxSize` rejects a single read (`one`) and is a miss in a getMany, whose other keys stand.
   */
  async #join(
    found: [Key, BigIndex][],
    call: Call,
    options: CallOptions | undefined,
    one: boolean,
  ): Promise<unknown[]> {
    const maxSize = this.o.maxSize;
    const keys: Key[] = [];
    const tooBig = found.map(([, index]) => index.chunks > this.#maxChunks);
    for (const [i, [key, index]] of found.entries()) {
      if (tooBig[i] && !one) continue;
      if (tooBig[i]) {
        throw new ValueTooLargeError(
          `the big value's index claims ${index.chunks} chunks, more than bigValues.maxSize (${maxSize}) allows: ` +
            "raise bigValues.maxSize to read it",
        );
      }
      for (const k of chunkKeys(key, index)) keys.push(k);
    }
    const hits = new Map<Key, unknown>();
    let read: Call;
    try {
      read = this.build.batch(
        Op.GetMany,
        this.chunkHandlers.getMany,
        keys,
        rest(options, call.endsAt(), "read of a big value"),
      );
    } catch (err) {
      // Chunk keys too long for memcached: no writer could have stored them.
      if (err instanceof InvalidKeyError) return found.map(() => undefined);
      throw err;
    }
    read.result = hits;
    read.miss = hits;
    await this.cluster.execute(read);
    const out: unknown[] = [];
    let at = 0;
    for (const [i, [, index]] of found.entries()) {
      if (tooBig[i]) {
        out.push(undefined);
        continue;
      }
      const parts: Buffer[] = [];
      let total = 0;
      for (let i = 0; i < index.chunks; i++) {
        const part = hits.get(keys[at + i]!) as Buffer | undefined;
        if (part === undefined) break;
        parts.push(part);
        total += part.length;
      }
      at += index.chunks;
      if (parts.length < index.chunks) {
        out.push(undefined);
        continue;
      }
      if (total > maxSize && !one) {
        out.push(undefined);
        continue;
      }
      if (total > maxSize) {
        throw new ValueTooLargeError(
          `the big value read is ${total} bytes, over bigValues.maxSize (${maxSize}): raise bigValues.maxSize to read it`,
        );
      }
      const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
      out.push(this.build.codec.decode(whole, 0, total, index.flags, true));
    }
    return out;
  }
}
