/**
 * The owner of freshness: the only code that knows which copies may be older than the last write of
 * their key, and what is done about them. Everything else asks it:
 * - the cluster tells it of writes (`noteWrite`, `noteTtl`), of writes that may not have landed
 *   (`noteFailedWrite`), and of writes that timed out after they were written (`followLateWrite`);
 * - a read asks `holdRead` before it is sent (wait for a repair, or answer a miss), and warm-up,
 *   replication and hedging ask `mayBeStale` / `hasAny` before they read a copy;
 * - membership hands it a server's return (`rejoin`) and a change of the list (`changeList`): both are
 *   repaired here, then committed in one synchronous step.
 *
 * Inside: the write-failure records and past rings (`repairs.ts`, `write-failures.ts`,
 * `past-rings.ts`), the read guards (`read-guards.ts`), the deletes that follow late writes
 * (`late-writes.ts`), and the repairs' own commands (`clean-up.ts`). Nothing outside this folder
 * imports those (the layer check enforces it).
 */
import type { CallAttempt, CallHandler } from "../call.js";
import type { HashRing } from "../ketama.js";
import type { ListChange, Membership, MembershipHooks, RoutingKey } from "../membership.js";
import type { Frame } from "../../protocol/frame.js";
import type { Server } from "../server.js";
import { labelOf } from "../../util/servers.js";
import { cleanUp, flushServer } from "./clean-up.js";
import { LateWrites } from "./late-writes.js";
import { isRead } from "../policy.js";
import { holdRead } from "./read-guards.js";
import { holdWrite } from "./write-guards.js";
import { Repairs } from "./repairs.js";

/** What the freshness owner needs: its limits, and the reply handlers of its own commands. */
export interface FreshnessOptions {
  /** Most keys remembered per server as possibly stale; past it, the server is flushed instead. */
  maxWriteFailures: number;
  /** Deadline of a repair's deletes and flushes, ms. */
  repairTimeout: number;
  deleteHandler: CallHandler;
  deleteManyHandler: CallHandler;
  flushHandler: CallHandler;
}

/** What it reports. */
export interface FreshnessEvents {
  /** A write for `key` (wire token) did not reach `server`: it is remembered, and repaired there. */
  writeFailure(server: string, key: string, error: unknown): void;
  /** `server` was flushed before serving again, for `reason`. */
  flushed(server: string, reason: string): void;
}

export class Freshness implements MembershipHooks {
  readonly #membership: Membership;
  readonly #repairs: Repairs;
  readonly #lateWrites: LateWrites;
  readonly #deleteHandler: CallHandler;
  /** The home ring before the last change of the list, and when it changed (for warm-up). */
  #previous: { ring: HashRing; at: number } | null = null;
  /** Servers that were on the list and left it: if they come back, they may hold older values. */
  readonly #departed = new Set<string>();

  constructor(membership: Membership, o: FreshnessOptions, events: FreshnessEvents) {
    this.#membership = membership;
    this.#deleteHandler = o.deleteHandler;
    this.#repairs = new Repairs(
      membership,
      {
        cleanUp: (server, keys) => cleanUp(server, keys, o.deleteManyHandler, o.repairTimeout),
        flush: async (server, reason) => {
          await flushServer(server, o.flushHandler, o.repairTimeout);
          events.flushed(server.label, reason);
        },
        writeFailure: (server, key, error) => events.writeFailure(server, key, error),
      },
      o.maxWriteFailures,
    );
    this.#lateWrites = new LateWrites(this.#repairs, o);
    membership.attach(this);
  }

  /** Servers flushed before serving again. */
  get flushes(): number {
    return this.#repairs.flushes;
  }

  /** The home ring before the last change of the list and when it changed, or null (never changed). */
  get previous(): { ring: HashRing; at: number } | null {
    return this.#previous;
  }

  // ── writes ──────────────────────────────────────────────────────────────────

  /** A write of `frame` is sent (`keyOf(i)`: the routing key of a batch's i-th key). */
  noteWrite(frame: Frame, key: RoutingKey, keyOf: ((i: number) => RoutingKey) | null): void {
    this.#repairs.noteWrite(frame, key, keyOf);
  }

  /** An item with expiry `ttl` (seconds, as memcached takes them) was written or touched. */
  noteTtl(ttl: number): void {
    this.#repairs.past.noteTtl(ttl);
  }

  /** A write of `frame` may not have reached `server`: remembered, and repaired there. */
  noteFailedWrite(server: Server, frame: Frame, keyOf: (i: number) => RoutingKey, error: unknown): void {
    this.#repairs.noteFailedWrite(server, frame, keyOf, error);
  }

  /** `a`, a write, timed out after it was written: a delete of its keys follows it on its connection. */
  followLateWrite(a: CallAttempt): void {
    this.#lateWrites.follow(a);
  }

  // ── reads ───────────────────────────────────────────────────────────────────

  /** Whether no server has anything remembered or under repair: reads need no look (the hot path). */
  get nothingToGuard(): boolean {
    return this.#repairs.nothingToGuard;
  }

  /**
   * Takes `a`, about to be sent to `server`, over when it must not be sent as things are (true; `send`
   * sends it once it may), false when it may be sent now: a read waits for a repair or misses a key that
   * may be stale there (`read-guards.ts`); a write that acts on the item first deletes such a copy
   * (`write-guards.ts`).
   */
  hold(a: CallAttempt, server: Server, send: (a: CallAttempt) => void): boolean {
    if (isRead(a.frame.op)) return holdRead(a, server, this.#repairs, send);
    return holdWrite(a, server, this.#repairs, this.#deleteHandler, send);
  }

  /** Whether `token` may be older on `label` than its last write. */
  mayBeStale(label: string, token: string, base64: boolean): boolean {
    return this.#repairs.mayBeStale(label, token, base64);
  }

  /** Whether anything is remembered (or under repair) for `label`. */
  hasAny(label: string): boolean {
    return this.#repairs.hasAny(label);
  }

  // ── returns and changes of the list ─────────────────────────────────────────

  /** A down server answers probes: what it missed is repaired before it is put back. */
  rejoin(s: Server): Promise<void> {
    return this.#repairs.rejoin(s);
  }

  /**
   * A change of the server list: a server that comes back to it is flushed first; the current
   * placements become past rings; the keys that servers staying on the list hold from earlier
   * lists, and that the new ring makes theirs again, are deleted on them; then the change is
   * committed in the same synchronous step as the last look (see `Repairs.beforeChange`).
   */
  async changeList(c: ListChange): Promise<void> {
    const m = this.#membership;
    const repairs = this.#repairs;
    const next = new Set(c.addresses.map(labelOf));
    // Back after leaving: flushed before it joins (nothing routes to it yet); if that fails, it
    // joins down, and its probe flushes it before it serves.
    const returning = c.added.filter((s) => this.#departed.delete(s.label));
    await Promise.all(
      returning.map((s) =>
        repairs.flushNow(s, `it left the server list earlier and came back (${c.reason})`).catch((err) => {
          repairs.mustFlush(s.label);
          s.markDown(err instanceof Error ? err : new Error(String(err)));
        }),
      ),
    );
    // The ring now stops being the home ring (writes from here on are remembered for its homes);
    // a past ring dropped for room leaves its servers to be flushed before the change.
    repairs.past.prune();
    const dropped = repairs.past.retire(m.addresses(), m.homeRing);
    // While a server is away its keys live on fallback owners: that placement is a past one too.
    if (m.ejects && m.away > 0)
      dropped.push(...repairs.past.retire(m.addresses(), m.liveRing(), m.skipped()));
    for (const label of dropped) if (next.has(label)) repairs.mustFlush(label);
    const before = m.homeRing;
    let committed = false;
    await repairs.beforeChange(
      c.kept,
      (key) => c.after.serversFor(key, c.replicas),
      () => {
        committed = c.commit();
        if (committed) this.#previous = { ring: before, at: performance.now() };
      },
    );
    if (!committed) return;
    for (const s of c.removed) {
      this.#departed.add(s.label);
      repairs.forget(s.label);
    }
  }
}
