/**
 * `incr` / `decr` in every protocol. Meta does all in one `ma`: create with `initial` when missing
 * (`N` + `J`) and renew the TTL (`T`). The others lack parts, which are done here, within the call's
 * deadline:
 * - binary creates with `initial` and a TTL, but does not renew the TTL of an existing counter: a
 *   touch follows once the counter has changed;
 * - text has neither: `incr` first; on `NOT_FOUND`, `add` the initial value (with the TTL); if that
 *   is `NOT_STORED` another client created it meanwhile, so `incr` again. The first creator gets
 *   `initial`, every other caller `initial ± delta`, as with meta's atomic create — no lost update,
 *   no double create. A TTL given for an existing counter is renewed with a touch, as in binary.
 */
import type { Call } from "../cluster/call.js";
import type { Cluster } from "../cluster/cluster.js";
import { ServerError, TimeoutError } from "../errors.js";
import type { Key } from "../keys.js";
import type { ArithOptions, CallOptions } from "../options.js";
import { MODE_ADD } from "../protocol/frame.js";
import type { CallBuilder } from "./call-builder.js";
import type { LocalReads } from "./local-reads.js";
import type { Protocol } from "./wire-options.js";

/** Rounds of `incr` → `add` before giving up (each lost only to a delete between the two). */
const MAX_ROUNDS = 4;

/** What counters need of their client. */
export interface CounterHost {
  readonly protocol: Protocol;
  readonly build: CallBuilder;
  readonly cluster: Cluster;
  readonly local: LocalReads | null;
  touch(key: Key, ttl: number, options: CallOptions): Promise<boolean>;
}

export class Counters {
  constructor(readonly host: CounterHost) {}

  /** incr (mode 0) or decr: the new value, or undefined when missing and no `initial` is given. */
  run(
    mode: number,
    key: Key,
    delta: bigint | number,
    options: ArithOptions | undefined,
  ): Promise<bigint | undefined> {
    const h = this.host;
    let call: Call;
    try {
      call = h.build.arith(mode, key, delta, options);
    } catch (err) {
      return Promise.reject(err);
    }
    h.local?.forget(call.frame.key, call.frame.base64);
    const p = h.cluster.execute(call) as Promise<bigint | undefined>;
    if (h.protocol === "meta") return p;
    if (h.protocol === "text" && call.frame.initial !== null)
      return this.#orCreate(p, call, mode, key, delta, options);
    if (options?.ttl === undefined) return p;
    return p.then((value) => this.#renew(value, call, key, options));
  }

  /** Text: the first `incr` missed → `add` the initial value, or `incr` again when someone else did. */
  async #orCreate(
    first: Promise<bigint | undefined>,
    call: Call,
    mode: number,
    key: Key,
    delta: bigint | number,
    options: ArithOptions | undefined,
  ): Promise<bigint | undefined> {
    const initial = call.frame.initial!;
    let value = await first;
    for (let round = 0; value === undefined; round++) {
      if (round === MAX_ROUNDS) {
        throw new ServerError(
          `incr/decr with initial: the counter was deleted between incr and add ${MAX_ROUNDS} times in a row; try again`,
        );
      }
      if (await this.#add(key, initial, { ...options, timeout: left(call) })) return initial;
      // Someone else created it: count on theirs (the TTL is renewed once, below).
      value = await this.run(mode, key, delta, plain(options, left(call)));
    }
    return options?.ttl === undefined ? value : this.#renew(value, call, key, options);
  }

  /** `add` of the counter's first value: decimal digits, client flags 0 (as meta's `ma` creates it). */
  #add(key: Key, initial: bigint, options: ArithOptions): Promise<boolean> {
    const h = this.host;
    const call = h.build.store(MODE_ADD, key, "", options, null);
    const digits = initial.toString();
    call.frame.value = digits;
    call.frame.valueLength = digits.length;
    call.frame.clientFlags = 0;
    return h.cluster.execute(call) as Promise<boolean>;
  }

  /**
   * The counter changed: its TTL is renewed with a touch within the call's deadline. Best effort:
   * the counter did change, so a failed touch does not fail the call.
   */
  #renew(
    value: bigint | undefined,
    call: Call,
    key: Key,
    options: ArithOptions,
  ): Promise<bigint | undefined> {
    const timeout = Math.floor(call.endsAt() - performance.now());
    if (value === undefined || timeout <= 0) return Promise.resolve(value);
    return this.host.touch(key, options.ttl!, { ...options, timeout }).then(
      () => value,
      () => value,
    );
  }
}

/** The caller's options without `initial` and `ttl`, due within `timeout` ms. */
function plain(options: ArithOptions | undefined, timeout: number): ArithOptions {
  const o: ArithOptions = { timeout };
  if (options?.signal !== undefined) o.signal = options.signal;
  if (options?.hashKey !== undefined) o.hashKey = options.hashKey;
  return o;
}

/** Milliseconds left of `call`'s deadline; a `TimeoutError` when none is. */
function left(call: Call): number {
  const ms = Math.floor(call.endsAt() - performance.now());
  if (ms <= 0) throw new TimeoutError(`incr/decr with initial timed out after ${call.timeout} ms`);
  return ms;
}
