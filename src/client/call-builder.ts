/**
 * Turns what a caller passed into a {@link Call}: checks the key, the options and the value, encodes
 * the key token and the value into a {@link Frame}, and sets the call's deadline, signal and routing
 * key. Invalid input throws a typed error here, before anything is sent.
 */
import { Call, type CallHandler } from "../cluster/call.js";
import {
  AbortError,
  ClientClosedError,
  InvalidArgumentError,
  UnsupportedError,
  ValueTooLargeError,
} from "../errors.js";
import type { Key, KeyEncoder } from "../keys.js";
import type { ArithOptions, CallOptions, SetOptions } from "../options.js";
import { Batch, Frame, MODE_APPEND, MODE_PREPEND, Op } from "../protocol/frame.js";
import { MAX_BATCH_KEYS } from "../protocol/meta/opaque-token.js";
import type { PooledBytes } from "../protocol/pooled-bytes.js";
import type { ValueCodec } from "../serialization/codec.js";
import { COMPRESSION_MASK } from "../serialization/compression.js";
import { ttl, u64 } from "./arguments.js";
import type { Handlers } from "./replies.js";

/** Values of a `setMany`, encoded. */
export interface EncodedValues {
  ttl: number;
  data: (string | Buffer)[];
  lengths: number[];
  flags: number[];
}

export class CallBuilder {
  /** Set by `Client.close()`: every new call is refused. */
  closed = false;
  /**
   * The pooled memory (`protocol/pooled-bytes.ts`) whose copy of the value the last {@link CallBuilder.store}
   * put in its frame, held once for the caller of `store`; null when none.
   */
  pooled: PooledBytes | null = null;

  constructor(
    readonly keys: KeyEncoder,
    readonly codec: ValueCodec,
    readonly handlers: Handlers,
    /** Default deadline, ms. */
    readonly timeout: number,
    readonly maxValueSize: number,
    /** Why a command kind is refused before it is sent (by {@link Op}; see `refusedCommands`). */
    readonly refused: readonly (string | undefined)[] = [],
  ) {}

  /** A call of `frame` with the caller's deadline and signal. */
  call(frame: Frame, handler: CallHandler, options: CallOptions | undefined): Call {
    if (this.closed) throw new ClientClosedError("the client is closed");
    const refused = this.refused[frame.op];
    if (refused !== undefined) throw new UnsupportedError(refused);
    // Without options, in few enough bytes that the callers inline it.
    if (options === undefined) return new Call(frame, handler, this.timeout);
    return this.#callWith(frame, handler, options);
  }

  #callWith(frame: Frame, handler: CallHandler, options: CallOptions | undefined): Call {
    let timeout = this.timeout;
    let signal: AbortSignal | undefined;
    if (options !== undefined) {
      if (options.timeout !== undefined) {
        timeout = options.timeout;
        if (!(typeof timeout === "number" && timeout > 0 && timeout < 2 ** 31)) {
          throw new InvalidArgumentError("timeout must be a positive number of ms");
        }
      }
      signal = options.signal;
      if (signal?.aborted) {
        throw new AbortError("the request was aborted before it was sent", { cause: signal.reason });
      }
    }
    const call = new Call(frame, handler, timeout);
    if (signal !== undefined) call.watch(signal);
    return call;
  }

  /** A single-key command of `key` (with a TTL when `ttlSeconds` is given). */
  keyed(op: Op, handler: CallHandler, key: Key, options: CallOptions | undefined, ttlSeconds?: number): Call {
    const frame = this.#keyFrame(op, key);
    if (ttlSeconds !== undefined) frame.ttl = ttl(ttlSeconds);
    return this.#routed(this.call(frame, handler, options), key, options);
  }

  /** A multi-key command of `keys`. */
  batch(op: Op, handler: CallHandler, keys: Key[], options: CallOptions | undefined): Call {
    if (keys.length > MAX_BATCH_KEYS) {
      throw new InvalidArgumentError(
        `${keys.length} keys in one call: at most ${MAX_BATCH_KEYS} (each key's reply is paired by an ` +
          "opaque of its own, and they would repeat); split the keys over several calls",
      );
    }
    const tokens: string[] = new Array(keys.length);
    let b64: boolean[] | null = null;
    for (let i = 0; i < keys.length; i++) {
      tokens[i] = this.keys.encode(keys[i]!);
      if (this.keys.base64) {
        b64 ??= new Array<boolean>(keys.length).fill(false);
        b64[i] = true;
      }
    }
    const frame = new Frame(op);
    frame.batch = new Batch(tokens, b64);
    const call = this.call(frame, handler, options);
    call.keys = keys;
    call.routingKey = options?.hashKey ?? null;
    return call;
  }

  /** `ms` in `mode` (0 = set), with `C<cas>` when `cas` is given. */
  store(mode: number, key: Key, value: unknown, options: SetOptions | undefined, cas: bigint | null): Call {
    const frame = this.#keyFrame(Op.Store, key);
    frame.ttl = ttl(options?.ttl);
    // Append/prepend data is glued to bytes stored earlier: it is never compressed.
    this.pooled = null;
    this.encodeValue(value, mode !== MODE_APPEND && mode !== MODE_PREPEND);
    this.pooled = this.codec.pooled;
    return this.#storeFrame(
      frame,
      mode,
      key,
      this.codec.data,
      this.codec.length,
      this.codec.flags,
      options,
      cas,
    );
  }

  /** `ms` of bytes already encoded (`length` of them, stored with `flags`): a big value's parts. */
  storeBytes(
    mode: number,
    key: Key,
    data: string | Buffer,
    length: number,
    flags: number,
    options: SetOptions | undefined,
    cas: bigint | null,
  ): Call {
    const frame = this.#keyFrame(Op.Store, key);
    frame.ttl = ttl(options?.ttl);
    return this.#storeFrame(frame, mode, key, data, length, flags, options, cas);
  }

  #storeFrame(
    frame: Frame,
    mode: number,
    key: Key,
    data: string | Buffer,
    length: number,
    flags: number,
    options: SetOptions | undefined,
    cas: bigint | null,
  ): Call {
    frame.mode = mode;
    frame.cas = cas;
    frame.value = data;
    frame.valueLength = length;
    frame.clientFlags = flags;
    return this.#routed(this.call(frame, this.handlers.store, options), key, options);
  }

  /** `ma`: incr (mode 0) or decr. */
  arith(mode: number, key: Key, delta: bigint | number, options: ArithOptions | undefined): Call {
    const frame = this.#keyFrame(Op.Arith, key);
    frame.mode = mode;
    frame.delta = u64("delta", delta);
    frame.initial = options?.initial === undefined ? null : u64("initial", options.initial);
    frame.ttl = ttl(options?.ttl);
    return this.#routed(this.call(frame, this.handlers.arith, options), key, options);
  }

  /** The `mg … N<lockTtl> [R<recache>]` read of `fetch`. */
  fetchRead(key: Key, lockTtl: number, recache: number, options: CallOptions): Call {
    const frame = this.#keyFrame(Op.Fetch, key);
    frame.ttl = lockTtl;
    frame.recache = recache;
    return this.#routed(this.call(frame, this.handlers.fetch, options), key, options);
  }

  /** Encodes (and, when `compress` and it pays, compresses) `value` into the codec's fields. */
  /**
   * Encodes the values of a `setMany` before anything is built or sent (a value that cannot be
   * stored fails the call first); {@link CallBuilder.attachValues} puts them in its frame.
   */
  encodeValues(entries: (readonly [Key, unknown])[], options: SetOptions | undefined): EncodedValues {
    const n = entries.length;
    const v: EncodedValues = {
      ttl: ttl(options?.ttl),
      data: new Array(n),
      lengths: new Array(n),
      flags: new Array(n),
    };
    for (let i = 0; i < n; i++) {
      this.encodeValue(entries[i]![1], true);
      v.data[i] = this.codec.data;
      v.lengths[i] = this.codec.length;
      v.flags[i] = this.codec.flags;
    }
    return v;
  }

  /** Puts encoded values into the frame of a `setMany` call (built from their keys). */
  attachValues(call: Call, v: EncodedValues): void {
    const batch = call.frame.batch!;
    batch.values = v.data;
    batch.valueLengths = v.lengths;
    batch.valueFlags = v.flags;
    call.frame.ttl = v.ttl;
    call.result = new Array<boolean>(v.data.length).fill(false);
  }

  encodeValue(value: unknown, compress: boolean): void {
    const c = this.codec;
    c.encode(value, compress);
    if (c.length > this.maxValueSize) {
      const how = (c.flags & COMPRESSION_MASK) !== 0 ? " (compressed)" : "";
      throw new ValueTooLargeError(
        `value is ${c.length} bytes encoded${how}; maxValueSize is ${this.maxValueSize}: store less, turn on ` +
          "compression, or raise maxValueSize together with memcached's item size (-I)",
      );
    }
  }

  #keyFrame(op: Op, key: Key): Frame {
    const frame = new Frame(op);
    frame.key = this.keys.encode(key);
    frame.base64 = this.keys.base64;
    return frame;
  }

  #routed(call: Call, key: Key, options: CallOptions | undefined): Call {
    call.routingKey = options?.hashKey ?? key;
    return call;
  }
}
