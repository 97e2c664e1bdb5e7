/**
 * The simulator's network: the client's transport makes a {@link SimSocket} to a {@link SimServer}
 * by label. Bytes written reach the server after `latency` virtual ms; replies come back in order.
 * A killed server resets its connections and refuses new ones; a paused one accepts connections and
 * reads nothing until resumed (as a SIGSTOPped memcached: the kernel still accepts), and then runs
 * every command that reached it — those of connections the client has closed meanwhile too (their
 * replies go nowhere): the late writes the client must survive.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { DialOptions } from "../../src/connection/dial.ts";
import { SimServer } from "./sim-server.ts";

export class SimNetwork {
  /** One-way latency, virtual ms. */
  latency = 0.05;
  readonly servers = new Map<string, SimServer>();
  readonly #sockets = new Set<SimSocket>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  server(label: string): SimServer {
    let s = this.servers.get(label);
    if (s === undefined) {
      s = new SimServer(label, this.#now);
      this.servers.set(label, s);
    }
    return s;
  }

  /** The client's transport. */
  readonly transport = (o: DialOptions): Socket => {
    const label = o.path ?? `${o.host}:${o.port}`;
    const socket = new SimSocket(this, this.server(label));
    this.#sockets.add(socket);
    setTimeout(() => socket.open(), this.latency);
    return socket as unknown as Socket;
  };

  kill(label: string): void {
    this.server(label).kill();
    for (const s of this.#sockets) if (s.server.label === label) s.reset();
  }

  restart(label: string): void {
    this.server(label).restart();
  }

  pause(label: string): void {
    const s = this.server(label);
    if (s.alive) s.paused = true;
  }

  resume(label: string): void {
    const s = this.server(label);
    s.paused = false;
    for (const sock of this.#sockets) if (sock.server === s) sock.pump();
  }

  forget(socket: SimSocket): void {
    this.#sockets.delete(socket);
  }

  track(socket: SimSocket): void {
    this.#sockets.add(socket);
  }

  /** Sockets the client has not closed. */
  get openSockets(): number {
    let n = 0;
    for (const s of this.#sockets) if (s.clientOpen) n++;
    return n;
  }
}

/** Enough of `net.Socket` for the client's `Link` and `Pipeline`. */
export class SimSocket extends EventEmitter {
  readonly server: SimServer;
  readonly writableLength = 0;
  #net: SimNetwork;
  #input = Buffer.alloc(0);
  #state: "connecting" | "open" | "closed" = "connecting";
  /** When the last reply leaves (replies keep their order). */
  #lastReply = 0;
  /** The server process it connected to (a restart is another). */
  #pid: number;

  constructor(net: SimNetwork, server: SimServer) {
    super();
    this.#net = net;
    this.server = server;
    this.#pid = server.pid;
  }

  open(): void {
    if (this.#state !== "connecting") return;
    if (!this.server.alive) {
      this.#fail("ECONNREFUSED", "connect ECONNREFUSED");
      return;
    }
    this.#state = "open";
    this.#pid = this.server.pid;
    this.emit("connect");
  }

  /** Whether the client has it open. */
  get clientOpen(): boolean {
    return this.#state !== "closed";
  }

  write(chunk: Buffer | string): boolean {
    if (this.#state !== "open") return false;
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : Buffer.from(chunk);
    setTimeout(() => {
      if (this.server.pid !== this.#pid || !this.server.alive) return; // the process it reached is gone
      this.#net.track(this);
      this.#input = this.#input.length === 0 ? bytes : Buffer.concat([this.#input, bytes]);
      this.pump();
    }, this.#net.latency);
    return true;
  }

  /** Serves what has arrived, unless the server is paused or gone. */
  pump(): void {
    const server = this.server;
    if (this.#state === "connecting" || server.pid !== this.#pid || !server.alive || server.paused) return;
    if (this.#input.length === 0) return;
    const { used, reply } = server.handle(this.#input);
    this.#input = this.#input.subarray(used);
    if (this.#state === "closed") {
      if (this.#input.length === 0) this.#net.forget(this);
      return;
    }
    if (reply.length === 0) return;
    const at = Math.max(this.#lastReply, performance.now() + server.delay + this.#net.latency);
    this.#lastReply = at;
    setTimeout(() => {
      if (this.#state === "open") this.emit("data", reply);
    }, at - performance.now());
  }

  /** The server died: the connection is reset, and what it had not read is lost. */
  reset(): void {
    this.#input = Buffer.alloc(0);
    if (this.#state === "closed") this.#net.forget(this);
    else this.#fail("ECONNRESET", "read ECONNRESET");
  }

  #fail(code: string, message: string): void {
    this.#state = "closed";
    this.#net.forget(this);
    const err = Object.assign(new Error(message), { code });
    setTimeout(() => {
      this.emit("error", err);
      this.emit("close", true);
    }, 0);
  }

  /** Closed by the client: what reached the server is still run (paused: once it resumes). */
  destroy(): this {
    if (this.#state !== "closed") {
      this.#state = "closed";
      if (this.#input.length === 0) this.#net.forget(this);
      setTimeout(() => this.emit("close", false), 0);
    }
    return this;
  }

  cork(): void {}
  uncork(): void {}
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
