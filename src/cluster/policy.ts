/**
 * The cluster's decisions, as pure functions of plain facts: which commands are reads or writes,
 * which may be sent again, what to do after a failed attempt, how long to back off, and how a
 * read's deadline is shared over replicas. No sockets, no timers, no state: unit-tested alone.
 */
import {
  AuthError,
  ConnectionError,
  NoServersError,
  QueueFullError,
  ServerUnavailableError,
  TimeoutError,
  TLSError,
} from "../errors.js";
import { neverSent } from "../connection/unsent.js";
import { type Frame, Op } from "../protocol/frame.js";
import type { RoutingKey } from "./membership.js";

/** A set of commands as bits (one test per call, where a chain of enum comparisons read each member). */
function opSet(...ops: Op[]): number {
  let bits = 0;
  for (const op of ops) {
    if (op > 30) throw new Error(`opSet: Op ${op} does not fit a 31-bit set`);
    bits |= 1 << op;
  }
  return bits;
}

// Every command must fit the sets, not only those named in them (a larger one would alias a smaller).
opSet(...Object.values(Op).filter((v): v is Op => typeof v === "number"));

const READS = opSet(Op.Get, Op.Gets, Op.GetAndTouch, Op.GetMany, Op.Fetch, Op.WarmRead);
const WRITES = opSet(Op.Store, Op.Delete, Op.Arith, Op.Invalidate, Op.StoreMany, Op.DeleteMany);
const HEDGEABLE = opSet(Op.Get, Op.GetAndTouch, Op.GetMany);
const IDEMPOTENT = opSet(Op.Get, Op.Gets, Op.GetAndTouch, Op.Touch, Op.Delete, Op.Fetch, Op.Invalidate);

/** Reads: a miss is an answer, so any replica may serve them (and `failOpen` may answer a miss). */
export function isRead(op: Op): boolean {
  return ((READS >>> op) & 1) === 1;
}

/**
 * Reads that move to another replica when their server fails: not a raw read of one server's item
 * (a warm-up's or a replica copy's), which only that server's answer is good for.
 */
export function failsOver(op: Op): boolean {
  return op !== Op.WarmRead && isRead(op);
}

/**
 * Reads that may go to any replica first (the one in the client's zone): get and getMany. Not gets
 * (the cas after it goes to the owner, whose CAS tokens are its own), getAndTouch (its touch would
 * reach one copy), nor fetch (its lock lives on the owner).
 */
export function readsAnyCopy(op: Op): boolean {
  return op === Op.Get || op === Op.GetMany;
}

/** Writes: a server that misses one may later serve an older value. */
export function isWrite(op: Op): boolean {
  return ((WRITES >>> op) & 1) === 1;
}

/**
 * Reads that may be hedged on another replica: get, getAndTouch and getMany. Not gets: its CAS token
 * is the server's, and the cas that follows goes to the owner. Not fetch: its read takes a lock (`N`)
 * that the losing replica would keep.
 */
export function hedgeable(op: Op): boolean {
  return ((HEDGEABLE >>> op) & 1) === 1;
}

/** Whether `frame` acts on the item as its server holds it: incr, decr, add, replace, append, prepend, cas. */
export function actsOnItem(frame: Frame): boolean {
  return frame.op === Op.Arith || (frame.op === Op.Store && (frame.mode !== 0 || frame.cas !== null));
}

/**
 * Commands that may be sent again after a connection failure: the same command twice leaves the
 * same state. Never incr/decr, append/prepend, add/replace or cas.
 */
export function isIdempotent(frame: Frame): boolean {
  const op = frame.op;
  if (((IDEMPOTENT >>> op) & 1) === 1) return true;
  return op === Op.Store && frame.mode === 0 && frame.cas === null;
}

/** How an attempt failed, as far as the decision goes. */
export enum Failure {
  /** The connection failed or was reset (the command may or may not have run). */
  Connection,
  /** The connection failed before the attempt was written: the command did not run. */
  Unsent,
  /** No reply within the attempt's deadline. */
  Timeout,
  /** The server is known to be down, or no server can take the key: nothing was sent. */
  Unavailable,
  /** Credentials or certificates were refused: the same server would refuse a retry too. */
  Refused,
  /** Anything else (a server's error reply, bad input, an abort): final. */
  Final,
}

/** Sorts an error into a {@link Failure}. */
export function failureOf(error: unknown): Failure {
  if (error instanceof TimeoutError) return Failure.Timeout;
  if (error instanceof AuthError || error instanceof TLSError) return Failure.Refused;
  if (error instanceof ServerUnavailableError || error instanceof NoServersError) return Failure.Unavailable;
  if (error instanceof ConnectionError) return neverSent(error) ? Failure.Unsent : Failure.Connection;
  return Failure.Final;
}

/** What the cluster knows when an attempt failed. */
export interface FailureFacts {
  failure: Failure;
  /** The command is a read. */
  read: boolean;
  /** Copies of each key, and how many of them this call has tried so far (≥ 1). */
  replicas: number;
  tried: number;
  /** Another replica is up and untried. */
  replicaLeft: boolean;
  /** Retries the call may still make. */
  retriesLeft: number;
  /** The command may be sent again after it may have run (see {@link isIdempotent}). */
  idempotent: boolean;
  /** Milliseconds left before the call's deadline. */
  timeLeft: number;
  /** The back-off the next retry would wait, ms (see {@link backoff}). */
  delay: number;
}

/** What to do after a failed attempt. */
export enum Next {
  /** Settle the call with the error (or a miss, with `failOpen`). */
  Fail,
  /** Send it at once to the next replica that is up, with a share of the time left. */
  Failover,
  /** Send it again after `delay` ms. */
  Retry,
}

/**
 * The rule: a read that failed on a connection error or used up its share of the deadline moves to
 * the next replica at once; an idempotent command that failed on a connection error is sent again
 * after a back-off, and so is any command that never reached the wire; all only while the call's
 * deadline leaves time. A known-down server fails fast (no waiting for a back-off), refused
 * credentials are final.
 */
export function afterFailure(f: FailureFacts): Next {
  if (f.timeLeft <= 1 || f.failure === Failure.Final || f.failure === Failure.Refused) return Next.Fail;
  if (f.read && f.replicas > 1 && f.tried < f.replicas && f.replicaLeft) return Next.Failover;
  const again = f.failure === Failure.Unsent || (f.failure === Failure.Connection && f.idempotent);
  if (!again || f.retriesLeft <= 0) return Next.Fail;
  return f.delay < f.timeLeft ? Next.Retry : Next.Fail;
}

/** Longest TTL memcached takes as relative seconds; a larger number is a Unix time. */
const RELATIVE_TTL_MAX = 60 * 60 * 24 * 30;

/**
 * The TTL to store a copy with, from an item's remaining seconds (`-1`: it never expires): past
 * thirty days memcached reads a TTL as a Unix time, so such a copy gets the time it ends.
 */
export function storedTtl(remaining: number): number {
  if (remaining === -1) return 0;
  return remaining > RELATIVE_TTL_MAX ? Math.floor(Date.now() / 1000) + remaining : remaining;
}

/** Exponential back-off with jitter: `base · 2^used`, capped at `max`, times a factor in [0.5, 1). */
export function backoff(used: number, base: number, max: number, random: number): number {
  return Math.min(max, base * 2 ** used) * (0.5 + random * 0.5);
}

/**
 * The time a read's attempt gets when `left` ms remain and `replicasLeft` replicas may still be
 * tried: an equal share, so a hung replica leaves time for the next one.
 */
export function readShare(left: number, replicasLeft: number): number {
  return replicasLeft > 1 ? left / replicasLeft : left;
}

/** Failures that mean the server could not be reached (as opposed to bad input or a server error). */
export function unreachable(err: unknown): boolean {
  return err instanceof ConnectionError || err instanceof TimeoutError || err instanceof QueueFullError;
}

/**
 * The frame an attempt sends: its batch share of the keys (`indices`, null for all), and on a gutter
 * server a TTL of at most `gutterCap` seconds.
 */
export function attemptFrame(
  frame: Frame,
  indices: readonly number[] | null,
  gutterCap: number | null,
): Frame {
  let f = indices === null ? frame : frame.part(indices);
  if (gutterCap !== null) {
    const ttl = gutterTtl(f, gutterCap);
    if (ttl !== f.ttl) {
      f = f.copy();
      f.ttl = ttl;
    }
  }
  return f;
}

/** The TTL a write gets on a gutter server: at most `cap` seconds (0 / none / longer → the cap). */
export function gutterTtl(frame: Frame, cap: number): number {
  switch (frame.op) {
    case Op.Store:
    case Op.StoreMany:
    case Op.Touch:
    case Op.GetAndTouch:
    case Op.Arith:
      return frame.ttl > 0 && frame.ttl <= cap ? frame.ttl : cap;
    default:
      return frame.ttl;
  }
}

/**
 * Groups a batch call's keys (those at `indices`, or all) by `target`. With a `hashKey`, or one
 * server (`single`), all go to one target with `indices` unchanged (null: every key, in order).
 */
export function groupByTarget<S>(
  call: { readonly keys: readonly RoutingKey[] | null; readonly routingKey: RoutingKey | null },
  indices: readonly number[] | null,
  target: (key: RoutingKey) => S,
  single: boolean,
): Map<S, number[] | null> {
  const keys = call.keys!;
  if (call.routingKey !== null || single) {
    return new Map([[target(call.routingKey ?? keys[0]!), indices === null ? null : [...indices]]]);
  }
  const groups = new Map<S, number[] | null>();
  const n = indices === null ? keys.length : indices.length;
  for (let j = 0; j < n; j++) {
    const i = indices === null ? j : indices[j]!;
    const s = target(keys[i]!);
    const g = groups.get(s);
    if (g === undefined) groups.set(s, [i]);
    else g!.push(i);
  }
  return groups;
}
