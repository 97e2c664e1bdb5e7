/**
 * The calls of a history, made on the client and judged by the {@link Checker}: every command the
 * client sends through the cluster. A key's writes are chained (one writer per key: each starts once
 * the one before has settled); reads and touches run at once. Every call must settle by its deadline
 * (plus a tick of the deadline timer).
 */
import type { Client } from "../../src/index.ts";
import { TICK_MS } from "../../src/util/ticker.ts";
import type { Checker, Write, WriteKind } from "./checker.ts";
import type { VirtualClock } from "./clock.ts";
import type { Step, StoreOp } from "./generator.ts";
import { count } from "./tally.ts";

/** A call that rejected: its outcome is unknown. */
const FAILED: unique symbol = Symbol("failed");
type Outcome<T> = T | typeof FAILED;

/** What a write's answer says: applied (with an incr's count), refused, or unknown. */
type Verdict = { acked: true; count?: bigint; delta?: number } | { acked: false };

export class Calls {
  /** Every call made, settled or not (checked for lateness as each settles). */
  readonly all: Promise<unknown>[] = [];
  /** Writes started and not yet settled. */
  writing = 0;
  readonly #mc: Client;
  readonly #check: Checker;
  readonly #clock: VirtualClock;
  readonly #timeout: number;
  readonly #chains: Promise<unknown>[];
  readonly #trace: ((line: string) => void) | null;

  constructor(
    mc: Client,
    check: Checker,
    clock: VirtualClock,
    o: { timeout: number; replicas: number; trace: ((line: string) => void) | null },
  ) {
    this.#mc = mc;
    this.#trace = o.trace;
    this.#check = check;
    this.#clock = clock;
    this.#timeout = o.timeout;
    this.#chains = Array.from({ length: check.keyCount }, () => Promise.resolve());
  }

  /** Makes the call of a call step (the others are faults and list changes: false). */
  run(step: Step): boolean {
    const mc = this.#mc;
    switch (step.op) {
      case "set":
      case "add":
      case "replace":
      case "cas":
        this.#store(step.op, step.key, step.ttl ?? 0);
        return true;
      case "append":
      case "prepend": {
        const { key, op } = step;
        this.#write(key, op, op, (w) => mc[op](this.#name(key), this.#check.partValue(w.seq, op)), stored);
        return true;
      }
      case "delete":
        this.#write(
          step.key,
          "delete",
          "delete",
          () => mc.delete(this.#name(step.key)),
          () => ({ acked: true }),
        );
        return true;
      case "setMany":
        // One writer per key: a batch write is modelled as each key's write, chained per key.
        for (const key of step.keys) {
          const set = (w: Write) =>
            mc.setMany([[this.#name(key), this.#check.wholeValue(key, w.seq)]]).then((r) => r[0]);
          this.#write(key, "setMany", "whole", set, stored);
        }
        return true;
      case "incr":
      case "decr": {
        const { key, delta, initial, op } = step;
        const ttl = step.ttl ?? 0;
        this.#write(
          key,
          op,
          "count",
          (w) =>
            mc[op](this.#name(key), BigInt(delta), {
              ...(initial ? { initial: BigInt(this.#check.wholeValue(key, w.seq)) } : {}),
              ...(ttl > 0 ? { ttl } : {}),
            }),
          (r) => (typeof r === "bigint" ? { acked: true, count: r, delta } : { acked: false }),
        );
        return true;
      }
      case "get":
        this.read(step.key, "get", (k) => mc.get(k));
        return true;
      case "gets":
        this.read(step.key, "gets", (k) => mc.gets(k).then((r) => r?.value));
        return true;
      case "gat":
        this.read(step.key, "getAndTouch", (k) => mc.getAndTouch(k, step.ttl));
        return true;
      case "touch":
        void this.#timed(`touch ${this.#name(step.key)}`, mc.touch(this.#name(step.key), step.ttl));
        return true;
      case "getMany": {
        const started = this.#clock.now;
        const floors = step.keys.map((k) => this.#check.floor(k, started));
        void this.#timed("getMany", mc.getMany(step.keys.map((k) => this.#name(k)))).then((m) => {
          if (m === FAILED) return;
          step.keys.forEach((k, i) => {
            this.#check.read(k, m.get(this.#name(k)), started, floors[i]!);
          });
        });
        return true;
      }
      default:
        return false;
    }
  }

  /** A read of `key` by `get`, judged against the writes acknowledged before it began. */
  read(key: number, what: string, get: (name: string) => Promise<unknown>): void {
    const started = this.#clock.now;
    const floor = this.#check.floor(key, started);
    void this.#timed(`${what} ${this.#name(key)}`, get(this.#name(key))).then((v) => {
      if (v !== FAILED) this.#check.read(key, v, started, floor);
    });
  }

  /** set, add, replace, or cas after a gets (no gets hit: no cas). */
  #store(op: StoreOp, key: number, ttl: number): void {
    const mc = this.#mc;
    const name = this.#name(key);
    const options = ttl > 0 ? { ttl } : {};
    this.#write(
      key,
      op,
      "whole",
      async (w) => {
        const value = this.#check.wholeValue(key, w.seq);
        if (op !== "cas") return mc[op](name, value, options);
        const started = this.#clock.now;
        const floor = this.#check.floor(key, started);
        const got = await this.#timed(`gets ${name}`, mc.gets(name));
        if (got === FAILED) return false;
        this.#check.read(key, got?.value, started, floor);
        if (got === undefined) return false;
        return mc.cas(name, value, got.cas, options);
      },
      stored,
      op === "cas" ? 2 : 1,
    );
  }

  /** A write of `key` after the previous one of that key settles (one writer per key). */
  #write<T>(
    key: number,
    op: Step["op"],
    kind: WriteKind,
    send: (w: Write) => Promise<T>,
    verdict: (r: T) => Verdict,
    calls = 1,
  ): void {
    this.writing++;
    this.#chains[key] = this.#chains[key]!.then(async () => {
      const w = this.#check.begin(key, kind);
      const r = await this.#timed(`${op} #${w.seq} of ${this.#name(key)}`, send(w), calls);
      const v = r === FAILED ? null : verdict(r);
      if (v === null) w.outcome = "unknown";
      else if (v.acked) this.#check.acked(key, w, this.#clock.now, v.count, v.delta);
      else w.outcome = "refused";
      count(`${op}: ${w.outcome}`);
      this.writing--;
    });
  }

  /** `p`, or {@link FAILED} when it rejects; a note when it settles past its deadline (`calls` one after another). */
  #timed<T>(what: string, p: Promise<T>, calls = 1, known?: string): Promise<Outcome<T>> {
    const started = this.#clock.now;
    this.#trace?.(`${what} starts`);
    const out: Promise<Outcome<T>> = p.then(
      (v) => {
        this.#trace?.(`${what} → ${JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x))}`);
        return v;
      },
      (e: Error) => {
        this.#trace?.(`${what} ✗ ${e.name}: ${e.message}`);
        return FAILED;
      },
    );
    this.all.push(
      out.then(() => {
        const late = this.#clock.now - started - this.#timeout * calls;
        if (late > (TICK_MS + 1) * calls)
          this.#check.note(`${what} settled ${late.toFixed(1)} ms past its deadline`, known);
      }),
    );
    return out;
  }

  #name(key: number): string {
    return this.#check.name(key);
  }
}

function stored(r: boolean | undefined): Verdict {
  return r === true ? { acked: true } : { acked: false };
}
