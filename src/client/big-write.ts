/**
 * The write of one big value (`big-values.ts`): its chunks in one batch, then its index item, within
 * the command's one deadline. The pooled copy the chunks are views of is given back once they are
 * stored (or failed): nothing sends them again.
 */
import type { Call } from "../cluster/call.js";
import { TimeoutError } from "../errors.js";
import type { Key } from "../keys.js";
import type { CallOptions, SetOptions } from "../options.js";
import type { Frame } from "../protocol/frame.js";
import type { PooledBytes } from "../protocol/pooled-bytes.js";
import { BIG_VALUE_FLAG } from "./big-value-format.js";
import type { BigValues } from "./big-values.js";

/** What a caller's options leave for a further round trip of the same command. */
export function rest(options: CallOptions | undefined, endsAt: number, what: string): SetOptions {
  const left = Math.floor(endsAt - performance.now());
  if (left < 1) throw new TimeoutError(`${what}: the deadline passed before its next round trip`);
  const out: SetOptions = { timeout: left };
  if (options?.signal !== undefined) out.signal = options.signal;
  if (options?.hashKey !== undefined) out.hashKey = options.hashKey;
  if ((options as SetOptions | undefined)?.ttl !== undefined) out.ttl = (options as SetOptions).ttl;
  return out;
}

/** A big value's write: its chunks are sent by {@link BigWrite.run}, then its index. */
export class BigWrite {
  /** The command its traces name (see `Call.tracedAs`). */
  tracedAs: string | null = null;
  readonly #endsAt: number;

  constructor(
    readonly big: BigValues,
    /** The index item's frame as far as the key goes (the local cache forgets it by its token). */
    readonly frame: Frame,
    readonly key: Key,
    readonly mode: number,
    readonly cas: bigint | null,
    readonly flags: number,
    readonly index: string,
    readonly chunks: Call,
    readonly options: SetOptions | undefined,
    /** The pooled memory the chunks are views of, held until they are stored (or not); null when none. */
    readonly pooled: PooledBytes | null,
  ) {
    this.#endsAt = performance.now() + (options?.timeout ?? big.build.timeout);
  }

  async run(): Promise<boolean> {
    const big = this.big;
    let stored: boolean[];
    try {
      stored = (await big.cluster.execute(this.chunks)) as boolean[];
    } finally {
      // Settled: nothing sends the chunks again, and a socket still writing one holds it itself. With
      // replicas the copies to the others are calls of their own that may still send them: the memory
      // is collected then instead.
      if (big.replicas === 1) this.pooled?.release();
    }
    if (!stored.every(Boolean)) return false;
    const index = this.index;
    const call = big.build.storeBytes(
      this.mode,
      this.key,
      index,
      index.length,
      this.flags | BIG_VALUE_FLAG,
      rest(this.options, this.#endsAt, "set of a big value"),
      this.cas,
    );
    call.tracedAs = this.tracedAs;
    return big.cluster.execute(call) as Promise<boolean>;
  }
}
