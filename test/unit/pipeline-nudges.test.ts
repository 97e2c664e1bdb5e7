/**
 * TLS nudges are owed to nobody: memcached may hold the last one's reply until more bytes come, so a
 * connection that owes only nudges is idle. Other no-ops a connection carries (a server's probe, a
 * caller's ping) are owed, and must not be taken for nudges when their replies come.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { Attempt, type AttemptSink } from "../../src/connection/attempt.ts";
import { handshakeHandlers, nudgeAttempt } from "../../src/connection/handshake.ts";
import { Pipeline } from "../../src/connection/pipeline.ts";
import { Frame, Op } from "../../src/protocol/frame.ts";

const socket = { write: () => true } as unknown as Socket;
const answered: string[] = [];
const sink: AttemptSink<null, string> = {
  succeeded: (a) => answered.push(a.target),
  failed: (a) => answered.push(`${a.target} failed`),
};

/** A no-op of the connection's carrier with no call, as a server's probe is. */
function probe(): Attempt {
  return new Attempt(
    new Frame(Op.Noop),
    handshakeHandlers("meta").noop,
    sink,
    null,
    "probe",
    1000,
  ) as Attempt;
}

describe("pipeline: nudges", () => {
  it("a probe answered ahead of a nudge leaves the nudge, not the probe, unowed", () => {
    const p = new Pipeline("meta", true, 1 << 20, 1024);
    p.pending.push(probe());
    assert.equal(p.flush(socket), true);
    p.writeNudge(nudgeAttempt("meta", 1000), socket);
    assert.deepEqual([p.inflight.length, p.owed], [2, 1], "the probe is owed, the nudge is not");
    p.feed(Buffer.from("MN\r\n")); // the probe's reply (FIFO)
    assert.deepEqual(answered, ["probe"]);
    assert.deepEqual([p.inflight.length, p.owed], [1, 0], "only the nudge is left, owed to nobody");
    p.feed(Buffer.from("MN\r\n")); // the nudge's, when memcached lets it go
    assert.deepEqual([p.inflight.length, p.owed, p.nudges], [0, 0, 0]);
  });

  it("a reset forgets the nudges with what was in flight", () => {
    const p = new Pipeline("meta", false, 1 << 20, 1024);
    p.writeNudge(nudgeAttempt("meta", 1000), socket);
    assert.equal(p.nudges, 1);
    p.reset();
    p.inflight.clear();
    assert.deepEqual([p.nudges, p.owed], [0, 0]);
  });
});
