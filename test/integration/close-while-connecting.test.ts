/**
 * `close()` waits for what is under way, and only that: a call given up on (aborted) while its
 * connection is still connecting leaves nothing to wait for, so the close completes at once — not at
 * that call's deadline, nor at the connect's timeout. The connect hangs on a TLS handshake that a
 * loopback TCP server of the test's own never answers.
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { describe, it } from "node:test";
import { Client } from "../../src/index.ts";
import { until } from "../support/fake-fleet.ts";

describe("close() while a connect hangs", () => {
  it("completes once the only call waiting was aborted, long before that call's deadline", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => {
      sockets.push(s);
      s.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const deadline = 30_000;
    const mc = new Client({
      servers: [`127.0.0.1:${port}`],
      tls: { rejectUnauthorized: false },
      timeout: deadline,
      connectTimeout: deadline,
    });
    try {
      const abort = new AbortController();
      const get = mc.get("k", { signal: abort.signal });
      await until(() => sockets.length > 0, "the client's connect (its TLS handshake is never answered)");
      assert.equal(sockets.length, 1);
      abort.abort();
      await assert.rejects(get, (e: Error) => e.name === "AbortError");
      let closed = false;
      const closing = mc.close().then(() => {
        closed = true;
      });
      // Bounded wait, far below the deadline: the close is judged done or not, not timed.
      await until(() => closed, "close() to complete before the aborted call's deadline", 2000);
      await closing;
    } finally {
      await mc.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
});
