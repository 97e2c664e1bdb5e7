/**
 * A TLS server in front of a plain memcached that behaves as memcached 1.6's own TLS does at its worst
 * for nudges (see `src/connection/watchdog.ts`): a chunk of nothing but no-ops (`mn`) waits until more
 * bytes come, so the last nudge's reply is held. Requests are forwarded after `delayMs`, slow enough
 * for the client to nudge.
 */
import { connect } from "node:net";
import { createServer, type Server } from "node:tls";
import type { MemcachedServer } from "./memcached.ts";
import { testPki } from "./secure.ts";

export class NudgeHolder {
  readonly host = "127.0.0.1";
  port = 0;
  /** Chunks of no-ops held so far. */
  held = 0;
  readonly #server: Server;
  readonly #sockets = new Set<{ destroy(): void }>();

  constructor(upstream: MemcachedServer, delayMs: number) {
    const pki = testPki();
    this.#server = createServer({ cert: pki.serverCert, key: pki.serverKey }, (client) => {
      const up = connect(upstream.port, upstream.host);
      this.#sockets.add(client).add(up);
      up.on("data", (d) => client.write(d));
      let waiting = "";
      client.on("data", (d: Buffer) => {
        const s = waiting + d.toString("latin1");
        if (/^(mn\r\n)+$/.test(s)) {
          this.held++;
          waiting = s;
          return;
        }
        waiting = "";
        setTimeout(() => up.write(s, "latin1"), delayMs);
      });
      client.on("error", () => up.destroy());
      up.on("error", () => client.destroy());
      client.on("close", () => up.destroy());
    });
  }

  get label(): string {
    return `${this.host}:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, this.host, resolve));
    this.port = (this.#server.address() as { port: number }).port;
    return this;
  }

  /** Closes, connections still open included (a client that failed to close must not hang the suite). */
  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
