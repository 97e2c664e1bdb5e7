/**
 * Warm-up: a get that misses on a server that may be missing what it should hold asks where the
 * key's value is, returns a hit and (with the `warmUp` option) copies it back with `add` and the
 * item's remaining TTL — so that a change of the fleet is not a storm of misses.
 * - After the server list changed (mcrouter's WarmUpRoute, with `warmUp`): for `window` ms, a miss
 *   on a key's new owner asks its owner under the previous list.
 * - After a replica may have restarted empty (it came back after being down, or lost a connection
 *   on an error), with `replicas` > 1: for `rejoinWindow` ms, a miss on it asks the key's next
 *   replica. Without `warmUp` the hit is returned, not copied back (a read of another copy, as a
 *   failover is); with it, it is copied too.
 *
 * Never older than the last write: the other server is not asked for a key that may be stale on it
 * (write failures, past rings), nor before the writes sent to it before the change (or the restart)
 * have landed: a `mn` on each of its connections first, answered only once what was sent before it
 * is processed (each connection is FIFO); no copy is made of a key written since the change; the
 * copy is an `add`, so it never replaces a value written before it; and a write of the key made
 * while the copy is under way waits for its answer, so the copy cannot land after it. These guards
 * hold within this process: a delete by another process racing a copy can be undone by it (see the
 * README's known limits).
 */
import { Frame, MODE_ADD, Op } from "../protocol/frame.js";
import type { AttemptSink } from "../connection/attempt.js";
import { storedTtl } from "./policy.js";
import { Call, CallAttempt, type CallHandler } from "./call.js";
import type { Freshness } from "./freshness/freshness.js";
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
  /** ms after a change of the server list during which misses ask the previous owner (0: off). */
  window: number;
  /** ms after a replica may have restarted empty during which misses on it ask the next replica. */
  rejoinWindow: number;
  /** Whether hits found elsewhere are copied back (the `warmUp` option), or only returned. */
  copy: boolean;
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

/** Most keys remembered as written while a replica's window is open; past it, no copies until it ends. */
const MAX_WRITTEN = 100_000;

const ignore = () => undefined;

export class WarmUp {
  /** Misses answered by another server. */
  hits = 0;
  /** Whether writes are to be told ({@link noteWrite}): a replica's window is open. */
  watchingWrites = false;
  readonly #membership: Membership;
  readonly #freshness: Freshness;
  readonly #o: WarmUpOptions;
  readonly #sender: WarmUpSender;
  /** Copies under way, by key (as sent; `" b"` appended when base64). */
  readonly #copying = new Map<string, Promise<void>>();
  /** Per server asked: since when what was sent to it has landed (true), or the look under way. */
  readonly #landed = new Map<Server, { since: number; look: true | Promise<void> }>();
  /** Replicas that may have restarted empty, and since when. */
  readonly #suspects = new Map<Server, number>();
  /** Keys written while a replica's window is open, and when (no copy of them is made). */
  readonly #written = new Map<string, number>();
  /** Until when writes are watched; when too many were, none is copied back before then. */
  #watchUntil = 0;
  #overflowedUntil = 0;

  constructor(membership: Membership, freshness: Freshness, o: WarmUpOptions, sender: WarmUpSender) {
    this.#membership = membership;
    this.#freshness = freshness;
    this.#o = o;
    this.#sender = sender;
    membership.mayBeEmpty = (s) => this.#mayBeEmpty(s);
  }

  #mayBeEmpty(s: Server): void {
    const now = performance.now();
    this.#suspects.set(s, now);
    if (this.#o.copy) {
      this.watchingWrites = true;
      this.#watchUntil = now + this.#o.rejoinWindow;
    }
  }

  /** A write of `frame`'s keys is under way (told while {@link watchingWrites}). */
  noteWrite(frame: Frame): void {
    const now = performance.now();
    if (now > this.#watchUntil) {
      this.watchingWrites = false;
      this.#written.clear();
      return;
    }
    if (this.#written.size >= MAX_WRITTEN) {
      this.#overflowedUntil = this.#watchUntil;
      this.#written.clear();
    }
    const batch = frame.batch;
    if (batch === null) this.#written.set(keyId(frame.key, frame.base64), now);
    else {
      for (let i = 0; i < batch.keys.length; i++) {
        this.#written.set(keyId(batch.keys[i]!, batch.keysBase64?.[i] === true), now);
      }
    }
  }

  /**
   * `a`, a get, missed on its server: takes the call over (true) when another server is to be
   * asked; false leaves the miss to the caller.
   */
  missed(a: CallAttempt): boolean {
    const op = a.frame.op;
    const target = a.target;
    if ((op !== Op.Get && op !== Op.GetAndTouch) || target === undefined) return false;
    const now = performance.now();
    const previous = this.#freshness.previous;
    if (previous !== null && now <= previous.at + this.#o.window && this.#fromPrevious(a, target, now))
      return true;
    if (this.#suspects.size === 0 || !this.#suspected(target, now)) return false;
    return this.#fromReplica(a, target, this.#suspects.get(target)!, now);
  }

  /**
   * A getMany's part answered on a replica that may have restarted empty: the indices of its misses
   * that have a next replica to ask (null when none). Those hits are returned, not copied back.
   */
  missedMany(a: CallAttempt): number[] | null {
    const target = a.target;
    if (this.#suspects.size === 0 || target === undefined || a.frame.op !== Op.GetMany) return null;
    if (!this.#suspected(target, performance.now())) return null;
    const m = this.#membership;
    if (m.replicas < 2 || a.rival !== null) return null;
    const call = a.call;
    if (call.endsAt() - performance.now() < 2) return null; // no time left to ask
    const found = call.result as Map<unknown, unknown>;
    const tried = a.tried();
    const missed: number[] = [];
    const n = a.frame.batch!.keys.length;
    for (let j = 0; j < n; j++) {
      const i = a.indices === null ? j : a.indices[j]!;
      const key = call.keys![i]!;
      if (!found.has(key) && m.replicasOf(key).includes(target) && m.readTarget(key, tried) !== undefined)
        missed.push(i);
    }
    if (missed.length === 0) return null;
    a.readThrough = true; // the parts that ask for them: a failure there leaves a miss
    return missed;
  }

  /** Whether `s` may have restarted empty less than a window ago. */
  #suspected(s: Server, now: number): boolean {
    const since = this.#suspects.get(s);
    if (since === undefined) return false;
    if (now <= since + this.#o.rejoinWindow) return true;
    this.#suspects.delete(s);
    return false;
  }

  /** After a change of the list: the key's previous owner is asked, and a hit copied over. */
  #fromPrevious(a: CallAttempt, target: Server, now: number): boolean {
    const m = this.#membership;
    const previous = this.#freshness.previous!;
    const key = a.call.routingKey!;
    const old = previous.ring.servers.length === 0 ? undefined : m.server(previous.ring.serverFor(key));
    if (old === undefined || old === target || old.state !== "up") return false;
    // Copies go only to the key's home (one on a fallback owner would outlive the writes on its home);
    // a previous owner that is still a home (replicas) gets the key's writes, and is not asked.
    const homes = m.homesOf(key);
    if (!homes.includes(target.label) || homes.includes(old.label)) return false;
    const frame = a.frame;
    if (this.#freshness.mayBeStale(old.label, frame.key, frame.base64)) return false;
    const left = a.call.endsAt() - now;
    // Until the writes sent to the previous owner before the change are known to have landed, a
    // miss stays a miss (the first one starts the look).
    if (left < 1 || this.#landedOn(old, previous.at, left) !== true) return false;
    this.#ask(a, target, old, true, left);
    return true;
  }

  /**
   * On a replica that may have restarted empty: the key's next replica is asked. Its hit is
   * returned; it is copied back only once what was sent to that replica before `since` has landed,
   * and when the key was not written since.
   */
  #fromReplica(a: CallAttempt, target: Server, since: number, now: number): boolean {
    const m = this.#membership;
    // A hedge under way already asks the next replica.
    if (m.replicas < 2 || a.rival !== null) return false;
    const key = a.call.routingKey!;
    if (!m.replicasOf(key).includes(target)) return false; // (a gutter or fallback server)
    const peer = m.readTarget(key, a.tried());
    const frame = a.frame;
    if (
      peer === undefined ||
      peer === target ||
      this.#freshness.mayBeStale(peer.label, frame.key, frame.base64)
    )
      return false;
    const left = a.call.endsAt() - now;
    if (left < 1) return false;
    const copy =
      this.#o.copy && this.#notWrittenSince(frame, since) && this.#landedOn(peer, since, left) === true;
    this.#ask(a, target, peer, copy, left);
    return true;
  }

  #notWrittenSince(frame: Frame, since: number): boolean {
    if (this.#overflowedUntil >= since) return false;
    const at = this.#written.get(keyId(frame.key, frame.base64));
    return at === undefined || at < since;
  }

  /** Reads `a`'s key raw from `source`; its answer settles `a`'s call (see `#found`). */
  #ask(a: CallAttempt, target: Server, source: Server, copy: boolean, left: number): void {
    const frame = a.frame;
    const read = new Frame(Op.WarmRead);
    read.key = frame.key;
    read.base64 = frame.base64;
    const call = a.call;
    const ask = new Call(read, this.#o.read, left);
    ask.routingKey = call.routingKey;
    const since = this.#suspects.get(target) ?? -1;
    this.#sender.executeOn(source, ask).then(
      (item) => this.#found(a, target, source, item as WarmItem | undefined, copy, since),
      () => call.succeed(undefined),
    );
  }

  /**
   * Whether the writes sent to `server` before `since` have landed: true once a `mn` sent on each
   * of its connections after it has been answered; until then, the look under way (started by the
   * first miss, and again after one that failed).
   */
  #landedOn(server: Server, since: number, timeout: number): true | Promise<void> {
    const landed = this.#landed.get(server);
    if (landed !== undefined && landed.since >= since) return landed.look;
    const noop = () => new Call(new Frame(Op.Noop), this.#o.noop, timeout);
    const entry: { since: number; look: true | Promise<void> } = { since: performance.now(), look: true };
    entry.look = sendToEach(server, noop, this.#sender).then(
      () => {
        if (this.#landed.get(server) === entry) entry.look = true;
      },
      () => {
        if (this.#landed.get(server) === entry) this.#landed.delete(server);
      },
    );
    this.#landed.set(server, entry);
    return entry.look;
  }

  #found(
    a: CallAttempt,
    target: Server,
    source: Server,
    item: WarmItem | undefined,
    copy: boolean,
    since: number,
  ): void {
    const call = a.call;
    const frame = a.frame;
    const freshness = this.#freshness;
    if (item === undefined || freshness.mayBeStale(source.label, frame.key, frame.base64)) {
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
    // A write of the key sent while it was read (or once writes were no longer watched): no copy, it
    // could land after the write.
    if (!copy) return;
    if (since >= 0 && (performance.now() > this.#watchUntil || !this.#notWrittenSince(frame, since))) return;
    // (Past thirty days of TTL left, the copy gets the time it ends: see `storedTtl`.)
    const ttl =
      frame.op === Op.GetAndTouch ? frame.ttl : item.ttl >= -1 ? storedTtl(item.ttl) : this.#o.copyTtl;
    if (ttl === 0 && item.ttl === 0) return; // about to expire: nothing to copy
    const store = storeOf(frame, item, ttl);
    store.mode = MODE_ADD;
    freshness.noteTtl(ttl);
    const copyCall = new Call(store, this.#o.store, call.timeout);
    copyCall.routingKey = call.routingKey;
    // Writes of the key wait for the copy (see `copyOf`), so it cannot land after one of them.
    const id = keyId(frame.key, frame.base64);
    const copied = this.#sender.executeOn(target, copyCall).then(ignore, ignore);
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
