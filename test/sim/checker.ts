/**
 * The judge of a history: DESIGN.md's consistency promise — every read returns a miss or a value at
 * least as new as the last write of that key acknowledged before the read began — made checkable.
 *
 * One writer per key: a key's writes run one after another, each numbered (`seq`, one count over
 * all keys), so "the last acknowledged write" is defined. A write is acknowledged when the client
 * says it took effect (a set, add, replace, cas, append or prepend resolving true; a delete
 * resolving at all; an incr/decr resolving with a count); refused (false, or no count) it is no
 * write; rejected, its outcome is unknown — it may have been applied, even later.
 *
 * Text values say which writes made them: a whole value is `k<key>:<seq>`, an append adds `,a<seq>`,
 * a prepend `p<seq>,`. A value read is judged by the writes it shows: another key's (foreign), one
 * older than the last acknowledged (stale), one missing an acknowledged write between its first and
 * its newest (a lost write: an append made on a stale copy), or one showing a write applied after
 * a newer one (a late write).
 *
 * Counters move one way: an up counter only takes incr, a down counter only decr, and each value a
 * write creates (set, add, replace, cas, or incr with `initial`) is `(seq·100 + key)·E` (up) or
 * `B − (seq·100 + key)·E` (down) — beyond every count before it. So a counter's progress (its value
 * up, `B −` its value down) only grows along acknowledged writes: a read, or an incr/decr's result,
 * below the progress of the last acknowledged write is stale; and the epoch a value shows names its
 * key. Misses are never judged: evictions, expiry and restarts lose data legitimately.
 */
import type { Settings } from "./generator.ts";
import { countsUp, isCounter } from "./generator.ts";
import { count } from "./tally.ts";

/** Room for an epoch's counting: far more than a history's deltas add up to. */
const E = 1_000_000n;
/** Where down counters start below (room for every epoch of a history). */
const B = 10n ** 15n;

export type WriteKind = "whole" | "append" | "prepend" | "delete" | "count";

export interface Write {
  seq: number;
  kind: WriteKind;
  outcome: "pending" | "acked" | "refused" | "unknown";
  ackedAt: number;
  /** A counter's progress after this acknowledged write. */
  progress: bigint;
}

export class Checker {
  /** What the history broke. */
  readonly broken: string[] = [];
  /** What it broke that a known, tolerated defect explains (kept apart, and counted). */
  readonly known: string[] = [];
  readonly #s: Settings;
  readonly #writes: Write[][];
  readonly #tolerate: ReadonlySet<string>;
  #seq = 0;

  /** When the history began (times in findings are from it). */
  readonly #origin: number;

  constructor(settings: Settings, origin: number, tolerate: ReadonlySet<string> = new Set()) {
    this.#origin = origin;
    this.#tolerate = tolerate;
    this.#s = settings;
    this.#writes = Array.from({ length: settings.keys + (settings.counters ?? 0) }, () => []);
  }

  /** Notes `problem`; one that known defect `defect` explains goes apart when it is tolerated. */
  note(problem: string, defect?: string): void {
    if (defect !== undefined && this.#tolerate.has(defect)) this.known.push(`${defect}: ${problem}`);
    else this.broken.push(problem);
  }

  get keyCount(): number {
    return this.#writes.length;
  }

  name(key: number): string {
    return isCounter(this.#s, key) ? `n${key}` : `k${key}`;
  }

  /** The value write `seq` stores whole at `key`. */
  wholeValue(key: number, seq: number): string {
    if (!isCounter(this.#s, key)) return `k${key}:${seq}`;
    const p = this.#epoch(key, seq);
    return (countsUp(this.#s, key) ? p : B - p).toString();
  }

  /** The bytes an append (or prepend) with `seq` adds. */
  partValue(seq: number, kind: "append" | "prepend"): string {
    return kind === "append" ? `,a${seq}` : `p${seq},`;
  }

  /** Starts the next write of `key` (the previous one has settled). */
  begin(key: number, kind: WriteKind): Write {
    const w: Write = { seq: ++this.#seq, kind, outcome: "pending", ackedAt: 0, progress: 0n };
    this.#writes[key]!.push(w);
    return w;
  }

  /** `w` was acknowledged at `at` (`result`: an incr/decr's count, checked against the writes before it). */
  acked(key: number, w: Write, at: number, result?: bigint, delta = 1): void {
    const before = this.floor(key, at);
    w.outcome = "acked";
    w.ackedAt = at;
    count(`write acknowledged: ${w.kind}`);
    if (w.kind === "whole" || w.kind === "delete") w.progress = this.#epoch(key, w.seq);
    if (result === undefined) return;
    const p = this.#progress(key, result);
    w.progress = p ?? 0n;
    const what = `${countsUp(this.#s, key) ? "incr" : "decr"} #${w.seq} of ${this.name(key)}`;
    if (p === null) this.note(`${what} returned ${result}, which no write of ${this.name(key)} made`);
    else if (before !== null && before.outcome === "acked" && p < before.progress + BigInt(delta))
      this.note(`${what} returned ${result}: it counted on a copy older than write #${before.seq}`);
  }

  /** The last write of `key` acknowledged before `t` (null: none). */
  floor(key: number, t: number): Write | null {
    const ws = this.#writes[key]!;
    for (let i = ws.length - 1; i >= 0; i--)
      if (ws[i]!.outcome === "acked" && ws[i]!.ackedAt < t) return ws[i]!;
    return null;
  }

  /** Judges `value`, read from `key` by a read that began at `started` (when the floor was `floor`). */
  read(key: number, value: unknown, started: number, floor: Write | null): void {
    if (value === undefined) return void count("read: miss");
    const what = `read of ${this.name(key)} at ${(started - this.#origin).toFixed(1)} ms returned ${JSON.stringify(String(value))}`;
    const problem = isCounter(this.#s, key)
      ? this.#counterProblem(key, String(value), floor)
      : this.#textProblem(key, String(value), floor);
    if (problem !== null) this.note(`${what}: ${problem}`);
  }

  #textProblem(key: number, value: string, floor: Write | null): string | null {
    const m = /^((?:p\d+,)*)k(\d+):(\d+)((?:,a\d+)*)$/.exec(value);
    count(m !== null && (m[1] !== "" || m[4] !== "") ? "read: text with appends or prepends" : "read: text");
    if (m === null)
      return /k\d+:/.test(value) || /^\d/.test(value) ? "another key's value" : "bytes no write made";
    if (Number(m[2]) !== key) return "another key's value";
    const base = Number(m[3]);
    const prepends = [...m[1]!.matchAll(/p(\d+),/g)].map((x) => Number(x[1]));
    const appends = [...m[4]!.matchAll(/,a(\d+)/g)].map((x) => Number(x[1]));
    const ws = this.#writes[key]!;
    const bySeq = (seq: number) => ws.find((w) => w.seq === seq);
    if (bySeq(base)?.kind !== "whole") return `no write of this key made #${base}`;
    for (const [seqs, kind] of [
      [prepends, "prepend"],
      [appends, "append"],
    ] as const) {
      for (const seq of seqs) {
        if (bySeq(seq)?.kind !== kind) return `no ${kind} of this key made #${seq}`;
        if (seq < base) return `${kind} #${seq} was applied after write #${base}, a later one`;
      }
    }
    const shown = new Set([base, ...prepends, ...appends]);
    const newest = Math.max(...shown);
    if (floor !== null && newest < floor.seq)
      return `older than write #${floor.seq}, acknowledged before the read`;
    for (const w of ws) {
      if (w.outcome !== "acked" || w.seq <= base || w.seq >= newest || shown.has(w.seq)) continue;
      return `it misses write #${w.seq} (acknowledged), made before #${newest} which it shows`;
    }
    return null;
  }

  #counterProblem(key: number, value: string, floor: Write | null): string | null {
    // memcached pads a counter rewritten in place with spaces.
    const digits = value.trimEnd();
    count(digits === value ? "read: counter" : "read: counter padded by a decr in place");
    if (!/^\d+$/.test(digits)) return "not a counter";
    const p = this.#progress(key, BigInt(digits));
    if (p === null) return "a count no write of this key made";
    if (floor !== null && p < floor.progress)
      return `older than write #${floor.seq}, acknowledged before the read`;
    return null;
  }

  /** A counter value's progress, or null when its epoch is not one of `key`'s writes. */
  #progress(key: number, value: bigint): bigint | null {
    const p = countsUp(this.#s, key) ? value : B - value;
    const epoch = p / E;
    if (p < 0n || epoch % 100n !== BigInt(key)) return null;
    const seq = Number(epoch / 100n);
    const w = this.#writes[key]!.find((x) => x.seq === seq);
    return w !== undefined && (w.kind === "whole" || w.kind === "count") ? p : null;
  }

  /** The progress a counter created by write `seq` starts from. */
  #epoch(key: number, seq: number): bigint {
    return (BigInt(seq) * 100n + BigInt(key)) * E;
  }
}
