/**
 * A small fault-injecting TCP proxy in front of a real memcached, on loopback.
 *
 * Modes (switchable at any time; they apply to the server → client direction):
 * - `pass`: forward bytes both ways;
 * - `blackhole`: accept and read requests, never answer;
 * - `reset`: destroy client connections at once (new and existing);
 * - `reset-once`: destroy the next connection that sends a request (the request is not forwarded),
 *   then pass;
 * - `stall-next` (client → server): hold what the next connection to send a request sends for
 *   `delayMs`, then forward it in order; other connections pass (a server that is slow to read one
 *   connection while it serves the others);
 * - `delay`: forward replies after `delayMs`;
 * - `delay-some`: forward a share (`delayShare`) of reply chunks after `delayMs` plus up to
 *   `jitterMs` (a server slow for a moment: later replies queue behind a held one, as on the wire);
 * - `dribble`: forward replies one byte every `delayMs` (a server that is never quite silent);
 * - `cut`: forward `cutAfter` more reply bytes, then close the client connection (a reply cut
 *   mid-value), then pass;
 * - `corrupt`: replace the next reply chunk with `garbage` bytes, then pass.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export type ProxyMode =
  | "pass"
  | "blackhole"
  | "reset"
  | "reset-once"
  | "stall-next"
  | "delay"
  | "delay-some"
  | "dribble"
  | "cut"
  | "corrupt";

export class FaultProxy {
  readonly host = "127.0.0.1";
  port = 0;
  mode: ProxyMode = "pass";
  delayMs = 0;
  /** `delay-some`: the share of reply chunks held, and the most extra random delay, ms. */
  delayShare = 0;
  jitterMs = 0;
  /** Reply chunks held back by `delay-some` so far. */
  delayed = 0;
  cutAfter = 0;
  garbage: Buffer = Buffer.from("XX garbage\r\n");
  /** Client connections accepted so far. */
  accepted = 0;
  /** Bytes the clients sent so far (requests, whatever happens to them). */
  bytesUp = 0;
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();

  constructor(
    readonly targetHost: string,
    readonly targetPort: number,
  ) {
    this.#server = createServer((client) => this.#accept(client));
  }

  get label(): string {
    return `${this.host}:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, this.host, resolve));
    const addr = this.#server.address();
    if (typeof addr !== "object" || addr === null) throw new Error("proxy has no address");
    this.port = addr.port;
    return this;
  }

  /** Destroys every open connection (both sides). */
  dropAll(): void {
    for (const p of this.#pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.#pairs.clear();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted++;
    if (this.mode === "reset") {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
    // Requests held back by `stall-next` go out in order, after `delayMs`.
    let stalled: Buffer[] | null = null;
    client.on("data", (d: Buffer) => {
      this.bytesUp += d.length;
      if (this.mode === "reset") return close();
      if (this.mode === "reset-once") {
        this.mode = "pass";
        return close();
      }
      if (this.mode === "stall-next" && stalled === null) {
        this.mode = "pass";
        const held: Buffer[] = [];
        stalled = held;
        setTimeout(() => {
          stalled = null;
          for (const h of held) if (upstream.writable) upstream.write(h);
        }, this.delayMs);
      }
      if (stalled !== null) stalled.push(d);
      else if (this.mode !== "blackhole") upstream.write(d);
    });
    // Replies being dribbled, one byte per `delayMs`.
    const dribbling: number[] = [];
    const drip = () => {
      const byte = dribbling.shift();
      if (byte === undefined || !client.writable) return;
      client.write(Buffer.of(byte));
      if (dribbling.length > 0) setTimeout(drip, this.delayMs);
    };
    // Replies held back by `delay` go out in order: later chunks queue behind them, whatever the mode.
    const held: { d: Buffer; at: number }[] = [];
    const release = () => {
      const now = performance.now();
      while (held.length > 0 && held[0]!.at <= now) {
        const { d } = held.shift()!;
        if (client.writable) client.write(d);
      }
      // A timer may fire a little early against performance.now(): come back for what is not yet due.
      if (held.length > 0) setTimeout(release, held[0]!.at - now + 1);
    };
    upstream.on("data", (d: Buffer) => {
      if (this.mode === "dribble" || dribbling.length > 0) {
        for (const byte of d) dribbling.push(byte);
        if (dribbling.length === d.length) setTimeout(drip, this.delayMs);
        return;
      }
      const some = this.mode === "delay-some" && held.length === 0 && Math.random() < this.delayShare;
      if (some) this.delayed++;
      if (this.mode === "delay" || some || held.length > 0) {
        const wait =
          this.mode === "delay" ? this.delayMs : some ? this.delayMs + Math.random() * this.jitterMs : 0;
        const at = Math.max(performance.now() + wait, held.at(-1)?.at ?? 0);
        held.push({ d, at });
        setTimeout(release, at - performance.now() + 1);
        return;
      }
      this.#reply(client, d, close);
    });
  }

  #reply(client: Socket, d: Buffer, close: () => void): void {
    switch (this.mode) {
      case "pass":
      case "delay":
      case "delay-some":
      case "dribble":
      case "reset-once":
      case "stall-next":
        client.write(d);
        return;
      case "blackhole":
        return;
      case "reset":
        close();
        return;
      case "cut": {
        const n = Math.min(this.cutAfter, d.length);
        if (n > 0) client.write(d.subarray(0, n));
        this.cutAfter -= n;
        if (this.cutAfter <= 0) {
          close();
          this.mode = "pass"; // one cut, like one corruption
        }
        return;
      }
      case "corrupt":
        client.write(this.garbage);
        this.mode = "pass";
        return;
    }
  }
}
