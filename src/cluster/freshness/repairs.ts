/**
 * What a server missed, and the repairs before it serves again. A key written while one of its
 * home servers was away, whose write failed on a server, or that moved away from a server under an
 * earlier server list and was written since, may be older on that server than its last write. Such
 * keys are remembered per server and deleted there (see `clean-up.ts`) before the
 * server takes traffic again — after a probe brings it back, or before a change of the server list
 * makes it a key's home again. A server that missed more writes than are remembered is flushed.
 */
import { type Frame, keyId, Op } from "../../protocol/frame.js";
import type { Membership, RoutingKey } from "../membership.js";
import { ketamaHash } from "../ketama.js";
import { awayFallbacks, fallbackCopies } from "./fallbacks.js";
import { PastRings } from "./past-rings.js";
import type { Server } from "../server.js";
import { type StaleKey, WriteFailures } from "./write-failures.js";

/**
 * Repair rounds before the server is flushed instead (writes to its keys arriving as fast as they
 * are repaired).
 */
const MAX_REPAIR_ROUNDS = 8;
/** Back-off between tries of a repair in place (a server that stays up but did not answer it), ms. */
const IN_PLACE_FIRST_DELAY = 50;
const IN_PLACE_MAX_DELAY = 2000;

/** The commands repairs send, and what they report. */
export interface RepairCommands {
  /** Deletes `keys` on `server`; rejects (a return then keeps it down) when a batch fails. */
  cleanUp(server: Server, keys: StaleKey[]): Promise<void>;
  /** Flushes `server` whole (it missed more writes than are remembered); rejects when it fails. */
  flush(server: Server, reason: string): Promise<void>;
  /** A write for `key` (wire token) did not reach `server`: it is remembered. */
  writeFailure(server: string, key: string, error: unknown): void;
}

export class Repairs {
  /** Servers flushed before serving again. */
  flushes = 0;
  readonly #membership: Membership;
  readonly #events: RepairCommands;
  readonly #stale: WriteFailures;
  /** Home rings of earlier server lists whose servers may still hold copies placed under them. */
  readonly past = new PastRings();
  /** Writes noted (to prune the past rings now and then). */
  #writes = 0;
  /** Keys taken for a repair that has not finished yet, by server: still possibly stale there. */
  readonly #inRepair = new Map<string, Set<string>>();
  /** Servers being flushed whole. */
  readonly #flushing = new Set<string>();
  /** Servers up whose missed writes are being repaired in place. */
  readonly #inPlace = new Set<Server>();
  /** Deletes sent just after a change of the list made a server some keys' home: reads there wait for them. */
  readonly #repairing = new Map<Server, Promise<void>>();

  constructor(membership: Membership, events: RepairCommands, maxWriteFailures: number) {
    this.#membership = membership;
    this.#events = events;
    this.#stale = new WriteFailures(maxWriteFailures);
  }

  /**
   * Called for every write: while some server is away, or past rings are kept, the key's home
   * servers that are not up, and its past homes that are homes no more, will hold an older value
   * than this write: the key is remembered for them. `keyOf(i)` is the routing key of a batch's
   * i-th key.
   */
  noteWrite(frame: Frame, key: RoutingKey, keyOf: ((i: number) => RoutingKey) | null): void {
    // A write without a TTL makes an item that never expires (deletes make none).
    const op = frame.op;
    if (op !== Op.Delete && op !== Op.DeleteMany) this.past.noteTtl(frame.ttl === -1 ? 0 : frame.ttl);
    if (this.#membership.away === 0 && !this.past.active) return;
    // Now and then, forget the past rings whose items have all expired.
    if ((++this.#writes & 1023) === 0) this.past.prune();
    const batch = frame.batch;
    if (batch === null || keyOf === null) this.#noteHomes(key, frame.key, frame.base64);
    else {
      for (let i = 0; i < batch.keys.length; i++) {
        this.#noteHomes(keyOf(i), batch.keys[i]!, batch.keysBase64?.[i] === true);
      }
    }
  }

  /**
   * A write of `frame` may not have reached `server`; `keyOf(i)` is the routing key of its i-th key.
   * A server that is still up (fewer failures than the threshold; with replicas the write was
   * acknowledged by another copy) is repaired in place: reads of those keys there miss meanwhile.
   */
  noteFailedWrite(server: Server, frame: Frame, keyOf: (i: number) => RoutingKey, error: unknown): void {
    if (this.#membership.server(server.label) !== server) return; // it left the list: flushed if it returns
    const batch = frame.batch;
    if (batch === null) this.#record(server.label, frame.key, frame.base64, keyOf(0), error);
    else {
      for (let i = 0; i < batch.keys.length; i++) {
        this.#record(server.label, batch.keys[i]!, batch.keysBase64?.[i] === true, keyOf(i), error);
      }
    }
    if (server.state === "up" && !this.#inPlace.has(server)) {
      this.#inPlace.add(server);
      setImmediate(() => this.#repairInPlace(server));
    }
  }

  /** Whether no server has anything remembered or under repair: reads need no look. */
  get nothingToGuard(): boolean {
    return (
      this.#stale.empty &&
      this.#inRepair.size === 0 &&
      this.#flushing.size === 0 &&
      this.#repairing.size === 0
    );
  }

  /** The deletes a change of the list left under way on `s` (reads there wait for them), or undefined. */
  repairingOf(s: Server): Promise<void> | undefined {
    return this.#repairing.get(s);
  }

  /**
   * Deletes on `s`, which stays up, the keys whose writes it missed (or flushes it when they were too
   * many), round after round while failures add some, for a few rounds at most: writes to keys that
   * left it under an earlier list keep adding some, and what is left is still remembered (reads of
   * those keys there miss; its next failure, return or list change repairs them). A repair that fails
   * is tried again after a back-off; it does not judge the server's health (its failures count as any
   * request's do): once the server is down, its return repairs it instead.
   */
  async #repairInPlace(s: Server): Promise<void> {
    try {
      let delay = IN_PLACE_FIRST_DELAY;
      let rounds = 0;
      while (
        rounds < MAX_REPAIR_ROUNDS &&
        !s.closed &&
        s.state === "up" &&
        this.#membership.server(s.label) === s &&
        this.#stale.has(s.label)
      ) {
        const { keys, overflowed } = this.#stale.take(s.label);
        const repair = overflowed
          ? this.#flush(s, this.#overflowReason())
          : this.#tracked(s, keys, this.#events.cleanUp(s, keys));
        const done = await repair.then(
          () => true,
          () => {
            this.#putBack(s.label, keys, overflowed);
            return false;
          },
        );
        if (done) {
          rounds++;
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        delay = Math.min(delay * 2, IN_PLACE_MAX_DELAY);
      }
    } finally {
      this.#inPlace.delete(s);
    }
  }

  /** Whether `token` may be older on `label` than its last write (remembered for it). */
  mayBeStale(label: string, token: string, base64: boolean): boolean {
    if (this.#stale.hasKey(label, token, base64) || this.#flushing.has(label)) return true;
    const repairing = this.#inRepair.get(label);
    return repairing?.has(keyId(token, base64)) === true;
  }

  /** Whether anything is remembered (or under repair) for `label`: reads there may need a look. */
  hasAny(label: string): boolean {
    return this.#stale.has(label) || this.#inRepair.has(label) || this.#flushing.has(label);
  }

  /** Keeps `keys` possibly stale on `s` (for {@link mayBeStale}) until `repair` ends. */
  #tracked(s: Server, keys: StaleKey[], repair: Promise<void>): Promise<void> {
    let set = this.#inRepair.get(s.label);
    if (set === undefined) {
      set = new Set();
      this.#inRepair.set(s.label, set);
    }
    const ids = keys.map((k) => keyId(k.token, k.base64));
    for (const id of ids) set.add(id);
    const done = () => {
      for (const id of ids) set.delete(id);
      if (set.size === 0 && this.#inRepair.get(s.label) === set) this.#inRepair.delete(s.label);
    };
    return repair.then(done, (err: unknown) => {
      done();
      throw err;
    });
  }

  /** `label` left the server list: what it missed no longer matters (it is flushed if it returns). */
  forget(label: string): void {
    this.#stale.take(label);
  }

  /** `label` must be flushed before it serves again. */
  mustFlush(label: string): void {
    this.#stale.markOverflowed(label);
  }

  /**
   * A server answers probes again. Before it takes traffic, what it missed is repaired, until
   * nothing is left: the keys written while it was away (or whose write failed on it) are deleted
   * on it — it may hold older values of them — and on the servers that held them for it meanwhile
   * (ejection moved them there; once it is back, those copies would outlive later writes); a server
   * that missed more writes than are remembered is flushed instead. Writes made during a repair are
   * remembered too, so the loop goes on until a look finds nothing, and the server goes back on the
   * ring in that same synchronous step: no write can fall between the last look and its return. If
   * writes keep coming as fast as they are repaired, the server is flushed after a few rounds: a
   * flushed server holds nothing older than the writes made meanwhile.
   */
  async rejoin(s: Server): Promise<void> {
    for (let round = 0; ; round++) {
      if (!this.#stale.has(s.label)) return this.#up(s, false);
      const { keys, overflowed } = this.#stale.take(s.label);
      try {
        if (overflowed || round === MAX_REPAIR_ROUNDS) {
          // Flushed, it holds nothing older than any write made meanwhile; the copies those writes
          // left on fallback owners are deleted once it is back (their keys' owner again).
          await this.#flush(s, overflowed ? this.#overflowReason() : this.#roundsReason());
          const fallbacks = fallbackCopies(
            this.#membership,
            s,
            [...keys, ...this.#stale.take(s.label).keys],
            this.#stale,
          );
          this.#up(s, overflowed);
          for (const [server, list] of fallbacks) this.#events.cleanUp(server, list).catch(() => undefined);
          return;
        }
        await this.#events.cleanUp(s, keys);
        await Promise.all(
          [...fallbackCopies(this.#membership, s, keys, this.#stale)].map(([server, list]) =>
            this.#events.cleanUp(server, list),
          ),
        );
      } catch (err) {
        this.#putBack(s.label, keys, overflowed);
        throw err;
      }
    }
  }

  /**
   * Before the server list changes to one whose homes of a key are `homesAfter(key)`: deletes the
   * keys remembered for servers that are up and will be their homes (the other keys stay
   * remembered), round after round while writes keep adding some; then calls `change` in the same
   * synchronous step as the last look, so no write falls between them. What the last round still
   * found (writes arriving as fast as rounds repair them) is deleted just after the change, while
   * reads on those servers wait for it ({@link repairingOf}). A server whose clean-up fails is taken
   * down (a probe and a repair bring it back); one that must be flushed is flushed first.
   */
  async beforeChange(
    servers: readonly Server[],
    homesAfter: (key: RoutingKey) => string[],
    change: () => void,
  ): Promise<void> {
    for (let round = 0; ; round++) {
      const last = round >= MAX_REPAIR_ROUNDS;
      const work: Promise<void>[] = [];
      const after: [Server, StaleKey[]][] = [];
      for (const s of servers) {
        if (s.state !== "up" || !this.#stale.has(s.label)) continue;
        const { keys, overflowed } = this.#stale.take(s.label);
        const due: StaleKey[] = [];
        for (const k of keys) {
          if (homesAfter(k.route).includes(s.label)) due.push(k);
          else this.#stale.record(s.label, k.token, k.base64, k.route);
        }
        if (overflowed) work.push(this.#guard(s, due, true, this.#flush(s, this.#overflowReason())));
        else if (due.length === 0) continue;
        else if (last) after.push([s, due]);
        else work.push(this.#guard(s, due, false, this.#tracked(s, due, this.#events.cleanUp(s, due))));
      }
      if (work.length === 0) {
        change();
        for (const [s, due] of after) {
          const repair = this.#guard(s, due, false, this.#tracked(s, due, this.#events.cleanUp(s, due)));
          const previous = this.#repairing.get(s);
          const repairing: Promise<void> = (
            previous === undefined ? repair : Promise.all([previous, repair])
          ).then(() => {
            if (this.#repairing.get(s) === repairing) this.#repairing.delete(s);
          });
          this.#repairing.set(s, repairing);
        }
        return;
      }
      for (const [s, due] of after) this.#putBack(s.label, due, false);
      await Promise.all(work);
    }
  }

  /**
   * Puts a repaired server back. The keys it takes back may leave copies on the servers that held
   * them meanwhile (ejection); when which ones is unknown (`copiesUnknown`: it missed more writes
   * than are remembered), the placement they lived on is a past ring from now on, so later writes
   * are remembered for those servers too.
   */
  #up(s: Server, copiesUnknown: boolean): void {
    const m = this.#membership;
    const wasAway = s.state !== "up" && m.server(s.label) === s;
    // The placement its keys had while it was away, before its return changes it.
    const away = copiesUnknown && m.ejects && wasAway ? m.liveRing() : null;
    const skipped = away === null ? [] : m.skipped();
    // (Before it is announced: a write from a `serverUp` listener is remembered for those servers.)
    m.up(s, () => {
      if (away === null || away.size === 0) return;
      for (const label of this.past.retire(m.addresses(), away, skipped)) {
        if (m.server(label)) this.mustFlush(label);
      }
    });
  }

  /** A repair of `s` that, failing, puts its keys back and takes the server down. */
  #guard(s: Server, keys: StaleKey[], overflowed: boolean, repair: Promise<void>): Promise<void> {
    return repair.catch((err: unknown) => {
      this.#putBack(s.label, keys, overflowed);
      s.markDown(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /** Flushes `s` now (a server that is not on the ring), counted and reported. */
  flushNow(s: Server, reason: string): Promise<void> {
    return this.#flush(s, reason);
  }

  #flush(s: Server, reason: string): Promise<void> {
    this.#flushing.add(s.label);
    return this.#events.flush(s, reason).then(
      () => {
        this.#flushing.delete(s.label);
        this.flushes++;
      },
      (err: unknown) => {
        this.#flushing.delete(s.label);
        throw err;
      },
    );
  }

  #overflowReason(): string {
    return `more than ${this.#stale.max} writes missed it: which keys it may hold stale is unknown`;
  }

  #roundsReason(): string {
    return `writes to its keys kept coming as fast as ${MAX_REPAIR_ROUNDS} rounds could repair them`;
  }

  #putBack(label: string, keys: StaleKey[], overflowed: boolean): void {
    if (overflowed) this.#stale.markOverflowed(label);
    else for (const k of keys) this.#stale.record(label, k.token, k.base64, k.route);
  }

  #noteHomes(key: RoutingKey, token: string, base64: boolean): void {
    const m = this.#membership;
    if (m.servers.length === 0) return;
    const hash = ketamaHash(key);
    const homes = m.homesOfHash(hash);
    if (m.away !== 0) {
      for (const label of homes) {
        const home = m.server(label)!;
        if (home.state !== "up") this.#record(home.label, token, base64, key, home.lastError);
      }
      for (const label of awayFallbacks(m, hash, homes)) this.#stale.record(label, token, base64, key);
    }
    if (!this.past.active) return;
    // Past homes that are homes no more keep the copy they had: remembered, and deleted before a
    // change makes them its homes again.
    const past: string[] = [];
    this.past.homesOf(hash, m.replicas, past);
    for (const label of past) {
      if (!homes.includes(label) && m.server(label) !== undefined)
        this.#stale.record(label, token, base64, key);
    }
  }

  #record(server: string, token: string, base64: boolean, route: RoutingKey, error: unknown): void {
    this.#stale.record(server, token, base64, route);
    this.#events.writeFailure(server, token, error);
  }
}
