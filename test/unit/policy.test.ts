import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  afterFailure,
  backoff,
  Failure,
  type FailureFacts,
  failureOf,
  gutterTtl,
  isIdempotent,
  isRead,
  isWrite,
  Next,
  readShare,
  storedTtl,
  unreachable,
} from "../../src/cluster/policy.ts";
import {
  AbortError,
  AuthError,
  ClientError,
  ConnectionError,
  ConnectTimeoutError,
  NoServersError,
  QueueFullError,
  ServerUnavailableError,
  SocketTimeoutError,
  TimeoutError,
  TLSError,
} from "../../src/errors.ts";
import { markUnsent } from "../../src/connection/unsent.ts";
import { Frame, MODE_ADD, MODE_APPEND, MODE_DECR, Op } from "../../src/protocol/frame.ts";

function frame(op: Op, fields: Partial<Frame> = {}): Frame {
  return Object.assign(new Frame(op), fields);
}

/** A read that failed on a connection error with every way out open; each test changes one fact. */
const open: FailureFacts = {
  failure: Failure.Connection,
  read: true,
  replicas: 2,
  tried: 1,
  replicaLeft: true,
  retriesLeft: 2,
  idempotent: true,
  timeLeft: 200,
  delay: 5,
};

describe("cluster policy", () => {
  it("reads, writes and idempotent commands", () => {
    for (const op of [Op.Get, Op.Gets, Op.GetAndTouch, Op.GetMany, Op.Fetch]) {
      assert.equal(isRead(op), true, Op[op]);
      assert.equal(isWrite(op), false, Op[op]);
    }
    for (const op of [Op.Store, Op.Delete, Op.Arith, Op.Invalidate, Op.StoreMany, Op.DeleteMany]) {
      assert.equal(isWrite(op), true, Op[op]);
      assert.equal(isRead(op), false, Op[op]);
    }
    for (const op of [Op.Touch, Op.Stats, Op.Version, Op.Flush, Op.Noop]) {
      assert.equal(isRead(op) || isWrite(op), false, Op[op]);
    }
    assert.equal(isIdempotent(frame(Op.Store)), true, "a plain set");
    assert.equal(isIdempotent(frame(Op.Store, { mode: MODE_ADD })), false, "add");
    assert.equal(isIdempotent(frame(Op.Store, { mode: MODE_APPEND })), false, "append");
    assert.equal(isIdempotent(frame(Op.Store, { cas: 7n })), false, "cas");
    assert.equal(isIdempotent(frame(Op.Arith)), false, "incr");
    assert.equal(isIdempotent(frame(Op.Arith, { mode: MODE_DECR })), false, "decr");
    for (const op of [Op.Get, Op.Gets, Op.GetAndTouch, Op.Touch, Op.Delete, Op.Fetch, Op.Invalidate]) {
      assert.equal(isIdempotent(frame(op)), true, Op[op]);
    }
    assert.equal(isIdempotent(frame(Op.StoreMany)), false, "batches are not retried");
  });

  it("sorts errors into failures", () => {
    assert.equal(failureOf(new TimeoutError("t")), Failure.Timeout);
    assert.equal(failureOf(new ConnectionError("c")), Failure.Connection);
    assert.equal(failureOf(new SocketTimeoutError("hung")), Failure.Connection);
    assert.equal(failureOf(markUnsent(new ConnectionError("refused"))), Failure.Unsent);
    assert.equal(failureOf(markUnsent(new ConnectTimeoutError("slow"))), Failure.Unsent);
    assert.equal(failureOf(new ServerUnavailableError("down")), Failure.Unavailable);
    assert.equal(failureOf(new NoServersError("none")), Failure.Unavailable);
    assert.equal(failureOf(new AuthError("no")), Failure.Refused);
    assert.equal(failureOf(new TLSError("cert")), Failure.Refused);
    assert.equal(failureOf(new ClientError("CLIENT_ERROR")), Failure.Final);
    assert.equal(failureOf(new AbortError("aborted")), Failure.Final);
    assert.equal(failureOf(new Error("other")), Failure.Final);
  });

  it("a read fails over to the next replica at once, on a connection error, a timeout or a down server", () => {
    for (const failure of [Failure.Connection, Failure.Timeout, Failure.Unavailable]) {
      assert.equal(afterFailure({ ...open, failure }), Next.Failover, Failure[failure]);
    }
  });

  it("no failover for writes, with one copy, with every replica tried or none up", () => {
    assert.equal(afterFailure({ ...open, read: false }), Next.Retry);
    assert.equal(afterFailure({ ...open, replicas: 1 }), Next.Retry);
    assert.equal(afterFailure({ ...open, tried: 2 }), Next.Retry);
    assert.equal(afterFailure({ ...open, replicaLeft: false }), Next.Retry);
  });

  it("retries only connection errors, only with retries left and time for the back-off", () => {
    const noReplica = { ...open, replicaLeft: false };
    assert.equal(afterFailure(noReplica), Next.Retry);
    assert.equal(afterFailure({ ...noReplica, retriesLeft: 0 }), Next.Fail, "no retries left");
    assert.equal(afterFailure({ ...noReplica, delay: 250 }), Next.Fail, "back-off past the deadline");
    assert.equal(
      afterFailure({ ...noReplica, failure: Failure.Timeout }),
      Next.Fail,
      "a timeout may have run",
    );
    assert.equal(afterFailure({ ...noReplica, failure: Failure.Unavailable }), Next.Fail, "down: fail fast");
  });

  it("a command that may have run is sent again only when idempotent; one never written, whatever it is", () => {
    const incr = { ...open, read: false, replicaLeft: false, idempotent: false };
    assert.equal(afterFailure(incr), Next.Fail, "an incr that may have run");
    assert.equal(afterFailure({ ...incr, failure: Failure.Unsent }), Next.Retry, "an incr never written");
    assert.equal(
      afterFailure({ ...incr, failure: Failure.Unsent, retriesLeft: 0 }),
      Next.Fail,
      "retries off",
    );
    assert.equal(afterFailure({ ...incr, failure: Failure.Unsent, delay: 250 }), Next.Fail, "no time left");
  });

  it("never anything after the deadline, refused credentials or a final error", () => {
    assert.equal(afterFailure({ ...open, timeLeft: 0 }), Next.Fail);
    assert.equal(afterFailure({ ...open, timeLeft: -5 }), Next.Fail);
    assert.equal(afterFailure({ ...open, failure: Failure.Refused }), Next.Fail);
    assert.equal(afterFailure({ ...open, failure: Failure.Final }), Next.Fail);
  });

  it("a copy's TTL: remaining seconds as they are, never-expiring as 0, past thirty days as the Unix time it ends", () => {
    assert.equal(storedTtl(-1), 0);
    assert.equal(storedTtl(0), 0);
    assert.equal(storedTtl(60), 60);
    assert.equal(storedTtl(2_592_000), 2_592_000);
    const now = Math.floor(Date.now() / 1000);
    const t = storedTtl(5_184_000);
    assert.ok(t >= now + 5_184_000 && t <= now + 5_184_001, String(t));
  });

  it("back-off doubles from the base up to the cap, jittered to between half and all of it", () => {
    assert.equal(backoff(0, 5, 50, 0), 2.5);
    assert.equal(backoff(0, 5, 50, 1), 5);
    assert.equal(backoff(2, 5, 50, 1), 20);
    assert.equal(backoff(10, 5, 50, 1), 50);
    assert.equal(backoff(10, 5, 50, 0), 25);
  });

  it("a read's deadline is shared equally over the replicas left to try", () => {
    assert.equal(readShare(300, 3), 100);
    assert.equal(readShare(300, 1), 300);
    assert.equal(readShare(300, 0), 300);
  });

  it("a gutter server caps the TTL of writes and touches, and leaves other commands alone", () => {
    for (const op of [Op.Store, Op.StoreMany, Op.Touch, Op.GetAndTouch, Op.Arith]) {
      assert.equal(gutterTtl(frame(op, { ttl: -1 }), 10), 10, `${Op[op]} without TTL`);
      assert.equal(gutterTtl(frame(op, { ttl: 0 }), 10), 10, `${Op[op]} never expiring`);
      assert.equal(gutterTtl(frame(op, { ttl: 3600 }), 10), 10, `${Op[op]} longer`);
      assert.equal(gutterTtl(frame(op, { ttl: 5 }), 10), 5, `${Op[op]} shorter`);
    }
    assert.equal(gutterTtl(frame(Op.Get, { ttl: -1 }), 10), -1);
    assert.equal(gutterTtl(frame(Op.Fetch, { ttl: 30 }), 10), 30, "fetch's TTL is its lock, not the item's");
  });

  it("unreachable: connection errors (no servers too), timeouts and full queues, not server or input errors", () => {
    assert.equal(unreachable(new ConnectionError("c")), true);
    assert.equal(unreachable(new ServerUnavailableError("down")), true);
    assert.equal(unreachable(new TimeoutError("t")), true);
    assert.equal(unreachable(new QueueFullError("q")), true);
    assert.equal(unreachable(new ClientError("x")), false);
    assert.equal(unreachable(new NoServersError("none")), true);
  });
});
