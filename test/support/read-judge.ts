/**
 * Judges reads made under load while servers fail, against what the client promises on a machine
 * that may be busy.
 *
 * A read must return its own key's value within its deadline. A stall of the event loop (this
 * process descheduled by a busy machine, a collection, a long turn of our own) as long as an
 * attempt's share of the deadline times out attempts on healthy servers too; two such timeouts mark
 * a server down, and until its probe brings it back a read may miss (its key's next server is cold)
 * or fail (a deadline error, no server left). Such a read is allowed only when a stall that long was
 * seen during it or within `recovery` ms before it. Another key's value, an error of an unexpected
 * kind, or a read later than the stall around it allows is a defect whatever the stalls.
 */
import { ConnectionError, NoServersError, ServerUnavailableError, TimeoutError } from "../../src/index.ts";
import { LoopStalls, STALL_SLACK } from "./loop-stalls.ts";

export interface ReadJudgeOptions {
  /** The reads' deadline, ms. */
  deadline: number;
  /** The least time an attempt on a healthy server gets, ms (the deadline, or its share per replica). */
  share: number;
  /** How long a stall's effects last after it, ms: a server it marked down stays out this long at most. */
  recovery: number;
}

/** The errors a read may end with while servers fail: a deadline, a lost connection, no server left. */
export function expectedReadError(e: unknown): boolean {
  return (
    e instanceof TimeoutError ||
    e instanceof ConnectionError ||
    e instanceof ServerUnavailableError ||
    e instanceof NoServersError
  );
}

export class ReadJudge {
  readonly stalls = new LoopStalls();
  served = 0;
  /** Reads not served next to a stall long enough to explain them. */
  excused = 0;
  worst = 0;
  readonly errors = new Map<string, number>();
  readonly defects: string[] = [];

  constructor(readonly options: ReadJudgeOptions) {}

  /** A read that returned what it should have. */
  serve(what: string, t0: number): void {
    this.served++;
    this.#settled(what, t0);
  }

  /** A read that missed (`outcome` undefined) or threw `outcome`, when its key's value was stored. */
  unserved(what: string, t0: number, outcome: unknown): void {
    const t1 = this.#settled(what, t0);
    if (outcome instanceof Error) this.errors.set(outcome.name, (this.errors.get(outcome.name) ?? 0) + 1);
    const why = outcome === undefined ? "a miss" : String(outcome);
    if (outcome !== undefined && !expectedReadError(outcome)) {
      this.defect(`${what}: unexpected ${why}`);
      return;
    }
    const stall = this.stalls.longestIn(t0 - this.options.recovery, t1);
    if (stall >= this.options.share - STALL_SLACK) this.excused++;
    else this.defect(`${what}: ${why} with no stall near it (longest ${stall.toFixed(0)} ms)`);
  }

  /** A read that returned something it never may (another key's value, an older one): always a defect. */
  wrong(what: string, t0: number, got: unknown): void {
    this.#settled(what, t0);
    this.defect(`${what}: got ${JSON.stringify(got)}`);
  }

  defect(d: string): void {
    if (this.defects.length < 20) this.defects.push(d);
  }

  #settled(what: string, t0: number): number {
    const t1 = performance.now();
    const ms = t1 - t0;
    this.worst = Math.max(this.worst, ms);
    const late = this.stalls.lateness(what, t0, ms, this.options.deadline);
    if (late !== null) this.defect(late);
    return t1;
  }

  /** The figures, for a test's diagnostic. */
  summary(): string {
    const reads = this.served + this.excused + this.defects.length;
    const { deadline, share } = this.options;
    return `${this.served} of ${reads} reads served, ${this.excused} not served next to a stall of ${share - STALL_SLACK} ms or more; worst ${this.worst.toFixed(1)} ms against a ${deadline} ms deadline; event loop stalled ${this.stalls.total.toFixed(0)} ms in all, longest ${this.stalls.longest.toFixed(0)} ms; errors ${JSON.stringify([...this.errors])}`;
  }

  stop(): void {
    this.stalls.stop();
  }
}
