/**
 * A cluster core without a network, for unit tests of membership, freshness, hedging and warm-up:
 * real `Membership`, `Server`s and (optionally) `Freshness`, whose servers' `pool.send` never
 * touches a socket. Every attempt sent is logged in {@link FakeFleet.sent} and handed to
 * {@link FakeFleet.answer}, which settles it as the test scripts (by default: success on the next
 * turn). Servers a list change adds get the same fake pool before anything is sent to them.
 */
import type { Attempt } from "../../src/connection/attempt.ts";
import { Freshness } from "../../src/cluster/freshness/freshness.ts";
import { type ListChange, Membership, type MembershipOptions } from "../../src/cluster/membership.ts";
import { Call, CallAttempt, type CallHandler } from "../../src/cluster/call.ts";
import type { Server } from "../../src/cluster/server.ts";
import { Batch, Frame, Op } from "../../src/protocol/frame.ts";
import type { ServerAddress } from "../../src/util/servers.ts";

/** One attempt a server was sent. */
export interface Sent {
  server: Server;
  attempt: Attempt;
  op: Op;
  /** Its key tokens (a batch's, or the one key; none for flush and no-op). */
  keys: string[];
}

/** A reply handler never called: fake pools settle attempts themselves. */
export const UNUSED_HANDLER = { onReply: () => true } as unknown as CallHandler;

const CONNECTION = {
  connectTimeout: 1000,
  socketTimeout: 1000,
  maxInFlight: 64,
  maxQueue: 1000,
  protocol: "meta",
} as unknown as ConstructorParameters<typeof Membership>[1];
const POOL = { min: 1, max: 1, idleTimeoutMillis: 30_000 };
/** Probes far off: a server taken down stays down until a test brings it back. */
const HEALTH = { failureThreshold: 1, retryDelay: 60_000, maxRetryDelay: 60_000 };

/** `host` 10.0.0.n, port 11211, with a weight (and a zone). */
export function addr(n: number, weight = 1, zone?: string): ServerAddress {
  return zone === undefined
    ? { host: `10.0.0.${n}`, port: 11211, weight }
    : { host: `10.0.0.${n}`, port: 11211, weight, zone };
}

/** A plain set of `key` (no TTL), as the client builds it. */
export function setFrame(key: string): Frame {
  const f = new Frame(Op.Store);
  f.key = key;
  f.value = "v";
  f.valueLength = 1;
  return f;
}

/** A get of `key`. */
export function getFrame(key: string, op: Op = Op.Get): Frame {
  const f = new Frame(op);
  f.key = key;
  return f;
}

export interface FleetOptions extends Partial<MembershipOptions> {
  /** Keys remembered per server before it is to be flushed instead. */
  maxWriteFailures?: number;
}

export class FakeFleet {
  readonly membership: Membership;
  readonly freshness: Freshness;
  readonly sent: Sent[] = [];
  /** What the freshness owner reported. */
  readonly writeFailures: [server: string, key: string][] = [];
  readonly flushed: [server: string, reason: string][] = [];
  /**
   * In order: each send as "<op> <label>"; "commit" when a list change committed, and "commit step
   * ended" once the synchronous step it ran in is over.
   */
  readonly log: string[] = [];
  /** Settles a sent attempt; the default answers every one with success on the next turn. */
  answer: (s: Sent) => void = (s) => setImmediate(() => s.attempt.succeed(true));

  constructor(addresses: ServerAddress[], o: FleetOptions = {}) {
    this.membership = new Membership(
      addresses,
      CONNECTION,
      POOL,
      HEALTH,
      { eject: o.eject ?? true, replicas: o.replicas ?? 1, gutter: o.gutter, zone: o.zone, zoneOf: o.zoneOf },
      { serverDown: () => undefined, serverUp: () => undefined },
    );
    for (const s of this.membership.allServers) this.#fake(s);
    this.freshness = new Freshness(
      this.membership,
      {
        maxWriteFailures: o.maxWriteFailures ?? 1000,
        repairTimeout: 1000,
        deleteHandler: UNUSED_HANDLER,
        deleteManyHandler: UNUSED_HANDLER,
        flushHandler: UNUSED_HANDLER,
      },
      {
        writeFailure: (server, key) => this.writeFailures.push([server, key]),
        flushed: (server, reason) => this.flushed.push([server, reason]),
      },
    );
    // The freshness owner attached itself; in front of it, this gives added servers their fake pool
    // and logs the commit.
    const f = this.freshness;
    this.membership.attach({
      rejoin: (s) => f.rejoin(s),
      changeList: (c: ListChange) => {
        for (const s of c.added) this.#fake(s);
        return f.changeList({
          ...c,
          commit: () => {
            const ok = c.commit();
            if (ok) {
              this.log.push("commit");
              // Marks the end of the commit's synchronous step: what is logged before it ran in that step.
              queueMicrotask(() => this.log.push("commit step ended"));
            }
            return ok;
          },
        });
      },
    });
  }

  /** The server labelled 10.0.0.n:11211. */
  server(n: number): Server {
    const s = this.membership.server(`10.0.0.${n}:11211`);
    if (s === undefined) throw new Error(`10.0.0.${n}:11211 is not on the list`);
    return s;
  }

  /** What was sent with `op` (to `server`, when given). */
  sentOf(op: Op, server?: Server): Sent[] {
    return this.sent.filter((s) => s.op === op && (server === undefined || s.server === server));
  }

  /** Keys of the writes noted (`noteWrite`), as the cluster notes a set sent to them. */
  write(...keys: string[]): void {
    for (const k of keys) this.freshness.noteWrite(setFrame(k), k, null);
  }

  close(): Promise<void> {
    return this.membership.close();
  }

  #fake(s: Server): void {
    const send = (attempt: Attempt) => {
      const f = attempt.frame;
      const keys = f.batch !== null ? [...f.batch.keys] : f.key === "" ? [] : [f.key];
      const sent = { server: s, attempt, op: f.op, keys };
      this.sent.push(sent);
      this.log.push(`${Op[f.op]} ${s.label}`);
      this.answer(sent);
    };
    s.pool.send = send;
    // One connection: one attempt of `make`.
    s.pool.sendToEach = (make) => send(make());
  }
}

/**
 * Waits until `done()` holds: a few turns of the event loop, then every millisecond; throws after
 * `ms` (a step that never came — generous, so that a busy machine cannot fail it).
 */
export async function until(done: () => boolean, what: string, ms = 5000): Promise<void> {
  const start = performance.now();
  for (let i = 0; !done(); i++) {
    if (performance.now() - start > ms) throw new Error(`never happened: ${what}`);
    await new Promise((r) => (i < 50 ? setImmediate(r) : setTimeout(r, 1)));
  }
}

/** Keys `key:0`, `key:1`, … that `pick` accepts (at least `n`, from the first 20,000). */
export function keysWhere(n: number, pick: (key: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < 20_000 && out.length < n; i++) if (pick(`key:${i}`)) out.push(`key:${i}`);
  if (out.length < n) throw new Error(`only ${out.length} keys fit`);
  return out;
}

/** How a read attempt ended, as its sink heard it. */
export interface Outcome {
  settled: boolean;
  value?: unknown;
  error?: unknown;
}

/**
 * A read of `keys` (one: a get, or `op`; several: a getMany) on `server`, as the cluster makes its
 * first attempt, with a sink that records its outcome.
 */
export function readAttempt(
  server: Server,
  keys: string | string[],
  o: { timeout?: number; op?: Op } = {},
): { a: CallAttempt; call: Call; outcome: Outcome } {
  const timeout = o.timeout ?? 1000;
  let frame: Frame;
  if (typeof keys === "string") frame = getFrame(keys, o.op);
  else {
    frame = new Frame(Op.GetMany);
    frame.batch = new Batch([...keys], null);
  }
  const call = new Call(frame, UNUSED_HANDLER, timeout);
  if (typeof keys === "string") call.routingKey = keys;
  else {
    call.keys = keys;
    call.result = new Map();
  }
  call.promise.catch(() => undefined);
  const outcome: Outcome = { settled: false };
  const sink = {
    succeeded: (_a: unknown, value: unknown) => Object.assign(outcome, { settled: true, value }),
    failed: (_a: unknown, error: unknown) => Object.assign(outcome, { settled: true, error }),
  };
  const a = new CallAttempt(frame, UNUSED_HANDLER, sink, call, server, timeout);
  if (typeof keys !== "string") a.result = call.result;
  call.attempt = a;
  return { a, call, outcome };
}
