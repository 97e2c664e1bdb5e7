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
 * replaces a value written to the new owner meanwhile; if a write of the key comes between the
 * read and the copy's answer, the copy is deleted again.
 */
import { Frame, MODE_ADD, Op } from "../protocol/frame.js";
import type { AttemptSink } from "../connection/attempt.js";
import { Call, CallAttempt, type CallHandler } from "./call.js";
import type { Membership } from "./membership.js";
import type { Server } from "./server.js";

/** An item read raw from a previous owner. */
export interface WarmItem {
  data: Buffer;
  flags: number;
  /** Remaining TTL, seconds (-1: never expires; -2: not told, as in binary). */
  ttl: number;
}

/** Warm-up settings and what it needs from the client layer. */
export interface WarmUpOptions {
  window: number;
  /** TTL of a copy when the remaining one is not told (binary), seconds. */
  copyTtl: number;
  read: CallHandler;
  store: CallHandler;
  delete: CallHandler;
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
  /** Per previous owner, whether what was sent to it before the last change has landed. */
  #landed = new Map<Server, Promise<boolean>>();
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
    const previous = this.#membership.previous;
    if ((op !== Op.Get && op !== Op.GetAndTouch) || previous === null) return false;
    const now = performance.now();
    if (now > previous.at + this.#o.window) return false;
    if (previous.at !== this.#changeAt) {
      this.#changeAt = previous.at;
      this.#landed = new Map();
    }
    const call = a.call;
    const key = call.routingKey!;
    const old =
      previous.ring.servers.length === 0 ? undefined : this.#membership.server(previous.ring.serverFor(key));
    if (old === undefined || old === a.target || old.state !== "up" || a.target === undefined) return false;
    const frame = a.frame;
    const repairs = this.#membership.repairs;
    if (repairs.mayBeStale(old.label, frame.key, frame.base64)) return false;
    const left = call.endsAt() - now;
    if (left < 1) return false;
    this.#landedOn(old, left).then((landed) => {
      if (!landed || call.settled || repairs.mayBeStale(old.label, frame.key, frame.base64)) {
        call.succeed(undefined);
        return;
      }
      const read = new Frame(Op.WarmRead);
      read.key = frame.key;
      read.base64 = frame.base64;
      const ask = new Call(read, this.#o.read, Math.max(1, call.endsAt() - performance.now()));
      ask.routingKey = key;
      this.#sender.executeOn(old, ask).then(
        (item) => this.#found(a, a.target!, old, item as WarmItem | undefined),
        () => call.succeed(undefined),
      );
    });
    return true;
  }

  /** Whether the writes sent to `old` before the change have landed (a `mn` on each connection). */
  #landedOn(old: Server, timeout: number): Promise<boolean> {
    let landed = this.#landed.get(old);
    if (landed === undefined) {
      const noop = () => new Call(new Frame(Op.Noop), this.#o.noop, timeout);
      landed = sendToEach(old, noop, this.#sender).then(
        () => true,
        () => {
          this.#landed.delete(old); // the next miss tries again
          return false;
        },
      );
      this.#landed.set(old, landed);
    }
    return landed;
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
    const ttl =
      frame.op === Op.GetAndTouch
        ? frame.ttl
        : item.ttl === -1
          ? 0
          : item.ttl >= 0
            ? item.ttl
            : this.#o.copyTtl;
    if (ttl === 0 && item.ttl === 0) return; // about to expire: nothing to copy
    const store = new Frame(Op.Store);
    store.key = frame.key;
    store.base64 = frame.base64;
    store.value = item.data;
    store.valueLength = item.data.length;
    store.clientFlags = item.flags;
    store.ttl = ttl;
    store.mode = MODE_ADD;
    const copy = new Call(store, this.#o.store, call.timeout);
    copy.routingKey = call.routingKey;
    this.#sender.executeOn(target, copy).then(() => {
      // A write of the key since the read may have been overtaken by the copy: take the copy back.
      if (!repairs.mayBeStale(old.label, frame.key, frame.base64)) return;
      const undo = new Frame(Op.Delete);
      undo.key = frame.key;
      undo.base64 = frame.base64;
      const del = new Call(undo, this.#o.delete, call.timeout);
      del.routingKey = call.routingKey;
      this.#sender.executeOn(target, del).catch(ignore);
    }, ignore);
  }
}

/** One call from `make` on each connection of `server`, attempts settled through `sink`. */
export function sendToEach(
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
