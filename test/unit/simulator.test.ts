/**
 * The simulator of the cluster core (`test/sim/`), as part of the suite: every regression history
 * it ever found replays clean, and a few thousand generated histories (a fixed seed: the same ones
 * every run; `npm run sim` explores others) break nothing. It runs in a process of its own, whose
 * timers and clocks are virtual.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

describe("simulator of the cluster core", () => {
  it("replays every regression history clean and finds nothing in 3,000 generated histories", async () => {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "test/sim/run.ts", "--histories", "3000", "--seed", "20261207"],
      { maxBuffer: 1 << 24 },
    ).catch((err: { stdout?: string; message: string }) => {
      assert.fail(`the simulator found a history that breaks a promise:\n${err.stdout ?? err.message}`);
    });
    assert.match(stdout, /(\d+) of \1 regression histories clean/);
    assert.match(stdout, /sim: 3000 histories/);
  });
});
