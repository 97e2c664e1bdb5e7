/**
 * When a connection writes what was sent: with replies owed, after the event loop's I/O callbacks
 * (`setImmediate`), so that what those callbacks send joins the same write; with nothing owed, no
 * reply can come to join it, and it goes out once the current callback's promises have run.
 */
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { describe, it } from "node:test";
import { Attempt, type AttemptSink } from "../../src/connection/attempt.ts";
import { handshakeHandlers, nudgeAttempt } from "../../src/connection/handshake.ts";
import { Pipeline } from "../../src/connection/pipeline.ts";
import { Frame, Op } from "../../src/protocol/frame.ts";

const socket = { write: () => true } as unknown as Socket;
const sink: AttemptSink<null, string> = { succeeded: () => {}, failed: () => {} };

function noop(): Attempt {
  return new Attempt(new Frame(Op.Noop), handshakeHandlers("meta").noop, sink, null, "noop", 1000) as Attempt;
}

/** The order in which an immediate queued first and the scheduled flush run. */
async function orderWith(p: Pipeline): Promise<string[]> {
  const order: string[] = [];
  setImmediate(() => order.push("immediate"));
  p.schedule(() => order.push("flush"));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return order;
}

describe("pipeline: when what was sent is written", () => {
  it("with nothing owed, at once after the current callback's promises: before the turn's immediates", async () => {
    const p = new Pipeline("meta", true, 1 << 20, 1024);
    assert.deepEqual(await orderWith(p), ["flush", "immediate"]);
  });

  it("with replies owed, after the turn's I/O callbacks, which may send more to the same write", async () => {
    const p = new Pipeline("meta", true, 1 << 20, 1024);
    p.pending.push(noop());
    assert.equal(p.flush(socket), true);
    assert.equal(p.owed, 1);
    assert.deepEqual(await orderWith(p), ["immediate", "flush"]);
  });

  it("a TLS nudge alone is owed to nobody: nothing to wait for", async () => {
    const p = new Pipeline("meta", false, 1 << 20, 1024);
    p.writeNudge(nudgeAttempt("meta", 1000), socket);
    assert.deepEqual([p.inflight.length, p.owed], [1, 0]);
    assert.deepEqual(await orderWith(p), ["flush", "immediate"]);
  });
});
