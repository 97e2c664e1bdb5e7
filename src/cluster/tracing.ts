/**
 * `memcachio:command` events, one per attempt: `start`/`end` around sending it, `asyncStart`/
 * `asyncEnd` (and `error`) when it settles. Published by hand rather than with `tracePromise`,
 * which would put the resolved value on the context: a context carries the outcome (`hit`,
 * `found`), never a value. Contexts are built only while someone listens.
 */
import { AsyncResource } from "node:async_hooks";
import { type CommandContext, commandChannel, tracing } from "../diagnostics.js";
import { commandName, Op } from "../protocol/frame.js";
import type { CallAttempt } from "./call.js";
import { isRead } from "./policy.js";

export class AttemptTracer {
  /** The context of each traced attempt still under way. */
  readonly #open = new Map<CallAttempt, CommandContext>();

  constructor(
    /** The client, to tell clients apart in the context. */
    readonly client: object,
    /** Put the keys (as sent) in the context. */
    readonly traceKeys: boolean,
  ) {}

  /** Whether anyone listens (one check per attempt). */
  get active(): boolean {
    return tracing();
  }

  /**
   * Publishes `start`, runs `send`, publishes `end`, in the caller's async context (so subscribers
   * parent their spans correctly): a call's first attempt runs in it; the later ones — retries from
   * a timer, failovers from a socket callback, hedges from the hedger's timer — are run back in it.
   */
  around(a: CallAttempt, send: (a: CallAttempt) => void): void {
    const call = a.call;
    if (call.traceScope !== null) call.traceScope.runInAsyncScope(this.#publish, this, a, send);
    else {
      call.traceScope = new AsyncResource("memcachio:call");
      this.#publish(a, send);
    }
  }

  #publish(a: CallAttempt, send: (a: CallAttempt) => void): void {
    const frame = a.frame;
    const ctx: CommandContext = {
      command: a.call.tracedAs ?? commandName(frame),
      server: a.target?.label ?? "",
      keyCount: frame.keyCount,
      client: this.client,
    };
    if (a.isHedge) ctx.hedge = true;
    const zone = a.target?.address.zone;
    if (zone !== undefined) ctx.zone = zone;
    if (this.traceKeys)
      ctx.keys = frame.batch !== null ? [...frame.batch.keys] : frame.key === "" ? [] : [frame.key];
    this.#open.set(a, ctx);
    commandChannel.start.publish(ctx);
    try {
      send(a);
    } finally {
      commandChannel.end.publish(ctx);
    }
  }

  /**
   * The end of an attempt its call gave up on (it settled another way): published as an asyncEnd with
   * `abandoned: true` and no error, only when the attempt was traced.
   */
  abandoned(a: CallAttempt): void {
    if (this.#open.size === 0) return;
    const ctx = this.#open.get(a);
    if (ctx === undefined) return;
    this.#open.delete(a);
    // Not a failure of its server: the call was answered another way (a hedge won, a batch part failed).
    ctx.abandoned = true;
    commandChannel.asyncStart.publish(ctx);
    commandChannel.asyncEnd.publish(ctx);
  }

  /** Publishes the end of a traced attempt (nothing when it was not traced). */
  settled(a: CallAttempt, value: unknown, error: unknown, failed: boolean): void {
    if (this.#open.size !== 0) this.#settled(a, value, error, failed);
  }

  #settled(a: CallAttempt, value: unknown, error: unknown, failed: boolean): void {
    const ctx = this.#open.get(a);
    if (ctx === undefined) return;
    this.#open.delete(a);
    const op = a.frame.op;
    if (failed) {
      ctx.error = error;
      commandChannel.error.publish(ctx);
    } else if (op === Op.GetMany) ctx.found = a.found;
    else if (op === Op.Fetch) ctx.hit = a.found > 0;
    else if (isRead(op)) ctx.hit = value !== undefined;
    commandChannel.asyncStart.publish(ctx);
    commandChannel.asyncEnd.publish(ctx);
  }
}
