import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Call } from "../../src/cluster/call.ts";
import { holdCall } from "../../src/cluster/start-gate.ts";
import { getFrame, UNUSED_HANDLER } from "../support/fake-fleet.ts";

describe("holding a call (cluster/start-gate.ts holdCall)", () => {
  it("a call whose execution throws when it is let go fails with that error, at once and handled", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const call = new Call(getFrame("k"), UNUSED_HANDLER, 10_000);
      const failure = new Error("execute failed");
      let letGo!: () => void;
      const waiting = new Promise<void>((resolve) => {
        letGo = resolve;
      });
      const held = holdCall(
        call,
        waiting,
        () => {
          throw failure;
        },
        "a test",
      );
      const started = performance.now();
      letGo();
      await assert.rejects(held, (e) => e === failure, "the call fails with what execute threw");
      assert.ok(performance.now() - started < 5_000, "not at its deadline: at once");
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, [], "no unhandled rejection from the hold's own chain");
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("a call let go is executed once, and one settled while held (aborted) is not executed", async () => {
    const runs: string[] = [];
    const execute = (c: Call) => {
      runs.push(c.frame.key);
      c.succeed("done");
    };
    const gate = Promise.resolve();
    const kept = new Call(getFrame("kept"), UNUSED_HANDLER, 10_000);
    const aborted = new Call(getFrame("aborted"), UNUSED_HANDLER, 10_000);
    const keptPromise = holdCall(kept, gate, execute, "a test");
    const abortedPromise = holdCall(aborted, gate, execute, "a test");
    aborted.fail(new Error("aborted"));
    assert.equal(await keptPromise, "done");
    await assert.rejects(abortedPromise, /aborted/);
    assert.deepEqual(runs, ["kept"]);
  });
});
