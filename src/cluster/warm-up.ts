/**
 * Warm-up after the server list changed (mcrouter's WarmUpRoute): for `window` ms after a change, a
 * get that misses on a key's new owner asks the key's owner under the previous list; a hit is
 * returned and copied to the new owner (`add`, with the item's remaining TTL), so that adding a
 * server does not turn its share of the hot keys into misses at once.
 *
 * Never older than the last write: the previous owner is not asked for a key written since the
 * change (such writes are remembered for it, see `past-rings.ts`), nor before the writes sent to it
 * before the change have landed: a `mn` on each of its connections first, answered only once what
 * was sent before it is processed (each connection is FIFO). The copy is an `add`, so it never
 * replaces a value written to the new owner before it; and a write of the key made while the copy
 * is under way waits for its answer, so the copy cannot land after it.
 */
import { Frame, MODE_ADD, Op } from "../protocol/frame.js";
import type { AttemptSink } from "../connection/attempt.js";
import { storedTtl } from "./policy.js";
import { Call, CallAttempt, type CallHandler } from "./call.js";
import type { Membership } from "./membership.js";
import type { Server } from "./server.js";
import { keyId } from "../protocol/frame.js";

/** An item read raw from a previous owner. */
export interface WarmItem {
  data: Buffer;
  flags: number;
  /** Remaining TTL, seconds (-1: never expires; -2: not told, as in binary). */
  ttl: number;
}

/** A plain set of `item` (its bytes and flags) under the key of `f`, with `ttl`: a copy of it elsewhere. */
export function storeOf(f: Frame, item: WarmItem, ttl: number): Frame {
  const store = new Frame(Op.Store);
  store.key = f.key;
  store.base64 = f.base64;
  store.value = item.data;
  store.valueLength = item.data.length;
  store.clientFlags = item.flags;
  store.ttl = ttl;
  return store;
}

/** Warm-up settings and what it needs from the client layer. */
export interface WarmUpOptions {
  window: number;
  /** TTL of a copy when the remaining one is not told (binary), seconds. */
  copyTtl: number;
  read: CallHandler;
  store: CallHandler;
  noop: CallHandler;
  /** The caller's value from a raw item (the client's codec). */
  decode(item: WarmItem): unknown;
}

/** How warm-up sends its calls: the cluster, which also settles their attempts. */
export interface WarmUpSender extends AttemptSink<Call, Server | undefined> {
  executeOn(server: Server, call: Call): Promise<unknown>;
}

const ignore = () => undefined;

export class WarmUp {
  /** Misses answered by a previous owner. */
  hits = 0;
  readonly #membership: Membership;
  readonly #o: WarmUpOptions;
  readonly #sender: WarmUpSender;
  /** Copies under way to new owners, by key (as sent; `" b"` appended when base64). */
  readonly #copying = new Map<string, Promise<void>>();
  /** Per previous owner: what was sent to it before the last change has landed (true), or the look under way. */
  #landed = new Map<Server, true | Promise<void>>();
  #changeAt = -1;

  constructor(membership: Membership, o: WarmUpOptions, sender: WarmUpSender) {
    this.#membership = membership;
    this.#o = o;
    this.#sender = sender;
  }

  /**
   * `a`, a get, missed on its server: takes the call over (true) when the key's previous owner is
   * to be asked; false leaves the miss to the caller.
   */
  missed(a: CallAttempt): boolean {
    const op = a.frame.op;
    const m = this.#membership;
    const previous = m.previous;
    if ((op !== Op.Get && op !== Op.GetAndTouch) || previous === null) return false;
    const now = performance.now();
    if (now > previous.at + this.#o.window) return false;
    if (previous.at !== this.#changeAt) {
      this.#changeAt = previous.at;
      this.#landed = new Map();
    }
    const call = a.call;
    const key = call.routingKey!;
    const target = a.target;
    const old = previous.ring.servers.length === 0 ? undefined : m.server(previous.ring.serverFor(key));
    if (old === undefined || target === undefined || old === target || old.state !== "up") return false;
    // Copies go only to the key's home (one on a fallback owner would outlive the writes on its home);
    // a previous owner that is still a home (replicas) gets the key's writes, and is not asked.
    const homes = m.homesOf(key);
    if (!homes.includes(target.label) || homes.includes(old.label)) return false;
    const frame = a.frame;
    if (m.repairs.mayBeStale(old.label, frame.key, frame.base64)) return false;
    const left = call.endsAt() - now;
    // Until the writes sent to the previous owner before the change are known to have landed, a
    // miss stays a miss (the first one starts the look).
    if (left < 1 || this.#landedOn(old, left) !== true) return false;
    const read = new Frame(Op.WarmRead);
    read.key = frame.key;
    read.base64 = frame.base64;
    const ask = new Call(read, this.#o.read, left);
    ask.routingKey = key;
    this.#sender.executeOn(old, ask).then(
      (item) => this.#found(a, target, old, item as WarmItem | undefined),
      () => call.succeed(undefined),
    );
    return true;
  }

  /**
   * Whether the writes sent to `old` before the change have landed: true once a `mn` sent on each of
   * its connections after the change has been answered; until then, the look under way (started by
   * the first miss, and again after one that failed).
   */
  #landedOn(old: Server, timeout: number): true | Promise<void> {
    const landed = this.#landed.get(old);
    if (landed !== undefined) return landed;
    const noop = () => new Call(new Frame(Op.Noop), this.#o.noop, timeout);
    const look: Promise<void> = sendToEach(old, noop, this.#sender).then(
      () => {
        if (this.#landed.get(old) === look) this.#landed.set(old, true);
      },
      () => {
        if (this.#landed.get(old) === look) this.#landed.delete(old);
      },
    );
    this.#landed.set(old, look);
    return look;
  }

  #found(a: CallAttempt, target: Server, old: Server, item: WarmItem | undefined): void {
    const call = a.call;
    const frame = a.frame;
    const repairs = this.#membership.repairs;
    if (item === undefined || repairs.mayBeStale(old.label, frame.key, frame.base64)) {
      call.succeed(undefined);
      return;
    }
    let value: unknown;
    try {
      value = this.#o.decode(item);
    } catch (err) {
      call.fail(err);
      return;
    }
    this.hits++;
    call.succeed(value);
    // (Past thirty days of TTL left, the copy gets the time it ends: see `storedTtl`.)
    const ttl =
      frame.op === Op.GetAndTouch ? frame.ttl : item.ttl >= -1 ? storedTtl(item.ttl) : this.#o.copyTtl;
    if (ttl === 0 && item.ttl === 0) return; // about to expire: nothing to copy
    const store = storeOf(frame, item, ttl);
    store.mode = MODE_ADD;
    this.#membership.repairs.past.noteTtl(ttl);
    const copy = new Call(store, this.#o.store, call.timeout);
    copy.routingKey = call.routingKey;
    // Writes of the key wait for the copy (see `copyOf`), so it cannot land after one of them.
    const id = keyId(frame.key, frame.base64);
    const copied = this.#sender.executeOn(target, copy).then(ignore, ignore);
    this.#copying.set(id, copied);
    copied.then(() => {
      if (this.#copying.get(id) === copied) this.#copying.delete(id);
    });
  }

  /** The copies under way of the keys `frame` writes, to wait for before it is sent; null when none. */
  copyOf(frame: Frame): Promise<unknown> | null {
    if (this.#copying.size === 0) return null;
    const batch = frame.batch;
    if (batch === null) return this.#copying.get(keyId(frame.key, frame.base64)) ?? null;
    const waits: Promise<void>[] = [];
    for (let i = 0; i < batch.keys.length; i++) {
      const copy = this.#copying.get(keyId(batch.keys[i]!, batch.keysBase64?.[i] === true));
      if (copy !== undefined) waits.push(copy);
    }
    return waits.length === 0 ? null : Promise.all(waits);
  }
}

/** One call from `make` on each connection of `server`, attempts settled through `sink`. */
function sendToEach(
  server: Server,
  make: () => Call,
  sink: AttemptSink<Call, Server | undefined>,
): Promise<unknown> {
  const calls: Call[] = [];
  server.pool.sendToEach(() => {
    const call = make();
    calls.push(call);
    const a = new CallAttempt(call.frame, call.handler, sink, call, server, call.timeout);
    call.attempt = a;
    return a;
  });
  return Promise.all(calls.map((c) => c.promise));
}
