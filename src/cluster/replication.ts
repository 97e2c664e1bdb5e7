/**
 * Writes with replicas (see `Replication.replicate`): fanned out to every copy, or run on the owner
 * and the other copies aligned after it. Part of `Cluster.execute`; attempts are made by the cluster.
 */
import { neverSent } from "../connection/unsent.js";
import { TimeoutError } from "../errors.js";
import { Frame, MODE_ADD, MODE_APPEND, MODE_PREPEND, Op } from "../protocol/frame.js";
import { Call, type CallAttempt, Failed } from "./call.js";
import type { ClusterOptions } from "./cluster-options.js";
import type { Freshness } from "./freshness/freshness.js";
import type { Membership, RoutingKey } from "./membership.js";
import { isIdempotent, storedTtl } from "./policy.js";
import type { Server } from "./server.js";
import { storeOf, type WarmItem } from "./warm-up.js";
import { withoutStack } from "../util/no-stack.js";

/** Makes and sends one attempt of `call` on `server` (the cluster's). */
type MakeAttempt = (call: Call, server: Server | undefined, timeout: number, replica: number) => CallAttempt;

export class Replication {
  constructor(
    readonly membership: Membership,
    readonly freshness: Freshness,
    readonly options: ClusterOptions,
    readonly attempt: MakeAttempt,
  ) {}

  /**
   * A write with replicas. An idempotent one (set, delete, touch) goes to every replica in
   * parallel; the call resolves with the first replica's answer in replica order (owner first) once
   * all have answered, and rejects only when every replica failed. The others (cas, add, replace,
   * append, prepend, incr, decr) would diverge if each replica decided for itself (a replica that
   * came back empty would take an `add` its owner refuses, or restart a counter): they run on the
   * owner alone, and the other replicas are then brought in line before the call resolves.
   */
  replicate(call: Call, key: RoutingKey): void {
    const owners = this.membership.replicasOf(key);
    if (owners.length <= 1) {
      this.attempt(call, owners[0], call.timeout, 0);
      return;
    }
    if (!isIdempotent(call.frame)) {
      call.copies = owners.slice(1);
      if (call.frame.op === Op.Arith) this.#counter(call, owners[0], owners[1]);
      else this.attempt(call, owners[0], call.timeout, 0);
      return;
    }
    call.outcomes = new Array<unknown>(owners.length);
    call.pending = owners.length;
    for (let i = 0; i < owners.length; i++) this.attempt(call, owners[i], call.timeout, i);
  }

  /**
   * The copies of a batch write (`setMany`, `deleteMany`) to replicas 1 to `replicas - 1`, each a
   * call of its own sent by `send`; returns how many. Their answers do not change the caller's, but
   * the caller waits for them, as a single key's write waits for all its copies: a read that begins
   * after it finds no replica still waiting for its copy.
   */
  copyBatch(call: Call, replicas: number, send: (copy: Call) => void): number {
    const done = () => {
      if (!call.settled && --call.pending === 0) call.succeed(call.result);
    };
    for (let r = 1; r < replicas; r++) {
      const copy = new Call(call.frame, call.handler, call.timeout);
      copy.keys = call.keys;
      copy.routingKey = call.routingKey;
      copy.replica = r;
      copy.result = new Array<boolean>(call.keys!.length).fill(false);
      copy.promise.then(done, done);
      send(copy);
    }
    return replicas - 1;
  }

  /**
   * An incr or decr with replicas. Its owner may have come back empty (a restart) while the next
   * replica still holds the counter: the command is first sent without creating a missing counter;
   * when the owner has none, the next replica's copy (unless it may be stale) is added to the owner,
   * and the command then runs as asked — so the count continues from the copy instead of starting
   * again. A first try that may have run is final: it is not sent twice; one that never left is
   * tried again (the owner just restarted refuses connections for a moment).
   */
  #counter(call: Call, owner: Server | undefined, next: Server | undefined): void {
    const left = () => Math.max(1, call.endsAt() - performance.now());
    call.endsAt(); // the deadline runs from now, over every step
    const probe = new Call(call.frame.copy(), call.handler, left());
    probe.frame.initial = null;
    probe.routingKey = call.routingKey;
    if (call.signal !== null) probe.watch(call.signal); // aborted before written: never sent
    this.attempt(probe, owner, probe.timeout, 0);
    probe.promise
      .then(
        async (value) => {
          if (call.settled) return;
          if (value !== undefined) return this.alignReplicas(call, value, owner);
          const f = call.frame;
          const peerFresh = next !== undefined && !this.freshness.mayBeStale(next.label, f.key, f.base64);
          const copy = owner !== undefined && peerFresh ? asSet(f, await this.#raw(call, next!)) : null;
          if (this.#outOfTime(call)) return;
          if (copy !== null) {
            copy.mode = MODE_ADD;
            const add = new Call(copy, this.options.storeHandler, left());
            add.routingKey = call.routingKey;
            this.attempt(add, owner, add.timeout, 0);
            await add.promise.catch(() => undefined);
          }
          if (!this.#outOfTime(call)) this.attempt(call, owner, left(), 0);
        },
        (error) => {
          if (call.settled) return;
          if (!neverSent(error) || call.retriesLeft <= 0 || left() <= 1) return void call.fail(error);
          call.retriesLeft--;
          this.#counter(call, owner, next);
        },
      )
      .catch((error) => call.fail(error));
  }

  /** One replica's outcome of a fanned-out write (or a {@link Failed} mark); the call settles with the last. */
  replicaDone(a: CallAttempt, outcome: unknown): void {
    const call = a.call;
    call.outcomes![a.replica] = outcome;
    if (--call.pending > 0) return;
    const answered = call.outcomes!.findIndex((o) => !(o instanceof Failed));
    if (answered >= 0) call.succeed(call.outcomes![answered]);
    else call.fail((call.outcomes![0] as Failed).error);
  }

  /**
   * The owner answered a non-idempotent write; the other replicas get its outcome before the call
   * resolves, so that they can serve the key should the owner go:
   * - add, replace or cas it accepted: the same value, with a plain set;
   * - incr, decr, append or prepend it applied: the item read back from the owner at once (value,
   *   flags and remaining TTL, stored as they are: a later incr on a replica continues from it), or
   *   a delete when that read fails or cannot tell the TTL (text and binary);
   * - anything else (refused, missing): a delete, so none serves a value the owner does not have.
   * Then the owner is read again: a write of the key that came after (another caller's, or one of
   * this process on another connection) may have been copied before this one, so unless the owner
   * still holds exactly what was copied, the copies are deleted. A copy that fails is noted like
   * any failed write (the cluster's attempts do that).
   */
  alignReplicas(call: Call, value: unknown, owner: Server | undefined): void {
    // At the call's deadline it resolves with the owner's answer; the copies not aligned by then
    // may be older than the owner: they are noted so (reads there miss until they are repaired).
    const timer = setTimeout(() => {
      this.#late.add(call);
      for (const s of call.copies!) this.#unaligned(call, s);
      call.succeed(value);
    }, call.endsAt() - performance.now());
    timer.unref();
    this.#align(call, value, owner).then(
      () => {
        clearTimeout(timer);
        call.succeed(value);
      },
      (error) => {
        clearTimeout(timer);
        call.fail(error);
      },
    );
  }

  /** Calls that settled at their deadline before their copies were aligned. */
  readonly #late = new WeakSet<Call>();

  /** `s`, a replica of `call`'s key, may hold an older copy than its owner: reads there miss until repaired. */
  #unaligned(call: Call, s: Server): void {
    this.freshness.noteFailedWrite(s, call.frame, () => call.routingKey!, unaligned(s));
  }

  /** No time is left for another step of `call` (then it fails, unless settled already): true. */
  #outOfTime(call: Call): boolean {
    if (call.settled) return true;
    if (call.endsAt() - performance.now() >= 1) return false;
    const what = call.frame.op === Op.Arith ? "incr/decr" : "write";
    call.fail(
      withoutStack(() => new TimeoutError(`${what} ran out of time between its steps with replicas`)),
    );
    return true;
  }

  async #align(call: Call, value: unknown, owner: Server | undefined): Promise<void> {
    const f = call.frame;
    let copy: Frame | null = null;
    if (f.op === Op.Store && value === true && f.mode !== MODE_APPEND && f.mode !== MODE_PREPEND) {
      copy = f.copy();
      copy.cas = null;
      copy.mode = 0;
    } else if (value !== undefined && value !== false && owner !== undefined) {
      copy = asSet(f, await this.#raw(call, owner));
    }
    if (call.settled) return;
    await this.#copy(call, copy);
    if (copy === null || owner === undefined || call.settled) return;
    const now = await this.#raw(call, owner);
    if (call.settled) return;
    if (now === undefined || now.flags !== copy.clientFlags || !sameBytes(now.data, copy.value)) {
      await this.#copy(call, null);
    }
  }

  /** `server`'s item of the call's key as stored (value, flags, remaining TTL); undefined when missing or unread. */
  async #raw(call: Call, server: Server): Promise<WarmItem | undefined> {
    const f = call.frame;
    const read = new Frame(Op.WarmRead);
    read.key = f.key;
    read.base64 = f.base64;
    const ask = new Call(read, this.options.warmReadHandler, Math.max(1, call.endsAt() - performance.now()));
    ask.routingKey = call.routingKey;
    this.attempt(ask, server, ask.timeout, 0);
    return (await ask.promise.catch(() => undefined)) as WarmItem | undefined;
  }

  /** Sends `frame` (or a delete of the key, when null) to the call's other replicas; settles when all have answered. */
  #copy(call: Call, frame: Frame | null): Promise<unknown> {
    const write = frame ?? call.frame.copy(Op.Delete);
    const handler = frame === null ? this.options.deleteHandler : this.options.storeHandler;
    if (frame !== null) this.freshness.noteTtl(write.ttl);
    const left = Math.max(1, call.endsAt() - performance.now());
    const copies = call.copies!.map((server) => {
      const copy = new Call(write, handler, left);
      copy.routingKey = call.routingKey;
      this.attempt(copy, server, copy.timeout, 0);
      // A copy answered after its call settled at the deadline may have landed after the repair that
      // followed: the key is remembered there again, and repaired again.
      return copy.promise.finally(() => {
        if (this.#late.has(call)) this.#unaligned(call, server);
      });
    });
    return Promise.allSettled(copies);
  }
}

/**
 * `item` as a plain set of the key of `f` with the same bytes, flags and remaining TTL; null when
 * there is no item, it is about to expire, or its TTL is not known (text and binary do not tell).
 */
function asSet(f: Frame, item: WarmItem | undefined): Frame | null {
  if (item === undefined || item.ttl === 0 || item.ttl < -1) return null;
  return storeOf(f, item, storedTtl(item.ttl));
}

/** Whether `data` (as read) is `value` (as written: a string goes out as UTF-8). */
function sameBytes(data: Buffer, value: string | Buffer | null): boolean {
  if (value === null) return data.length === 0;
  return typeof value === "string" ? data.equals(Buffer.from(value, "utf8")) : data.equals(value);
}

/** Why a replica's copy may be older than its owner: the write's deadline came before its copy. */
function unaligned(s: Server): TimeoutError {
  const message = `the copy to replica ${s.label} was not done by the write's deadline`;
  return withoutStack(() => new TimeoutError(message, { server: s.label }));
}
