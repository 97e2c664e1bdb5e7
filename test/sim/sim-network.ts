/**
 * The simulator's network: the client's transport makes a {@link SimSocket} to a {@link SimServer}
 * by label. Bytes written reach the server after `latency` virtual ms; replies come back in order.
 * A killed server resets its connections and refuses new ones; a paused one accepts connections and
 * reads nothing until resumed (as a SIGSTOPped memcached: the kernel still accepts), and then runs
 * every command that reached it — those of connections the client has closed meanwhile too (their
 * replies go nowhere): the late writes the client must survive.
 *
 * Faults of the network itself: a partition from a server (connects hang, nothing crosses either
 * way; on healing, what was held crosses — bytes of sockets the client has closed meanwhile too, as
 * a kernel's send buffer still delivers them), a reply cut part-way and its connection reset, and a
 * reply held back on one connection only.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { DialOptions } from "../../src/connection/dial.ts";
import { SimServer } from "./sim-server.ts";
import { count } from "./tally.ts";

export class SimNetwork {
  /** One-way latency, virtual ms. */
  latency = 0.05;
  /** Where a replay's wire trace goes (null: not traced). */
  trace: ((line: string) => void) | null = null;
  /** Sockets made so far (their trace ids). */
  made = 0;
  readonly servers = new Map<string, SimServer>();
  readonly #sockets = new Set<SimSocket>();
  readonly #now: () => number;
  readonly #partitioned = new Set<string>();
  /** Servers whose next reply is cut: the share of its bytes that gets through. */
  readonly #cuts = new Map<string, number>();

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

  /** The address a host name has now, as a connect looks it up (absent: the host is an address). */
  addressOf: ((host: string) => string | undefined) | null = null;

  /** The client's transport. */
  readonly transport = (o: DialOptions): Socket => {
    const label = o.path ?? `${this.addressOf?.(o.host) ?? o.host}:${o.port}`;
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

  /** Cuts the network between the client and `label` until {@link heal}. */
  partition(label: string): void {
    this.#partitioned.add(label);
  }

  heal(label: string): void {
    if (!this.#partitioned.delete(label)) return;
    for (const s of [...this.#sockets]) if (s.server.label === label) s.heal();
  }

  partitioned(label: string): boolean {
    return this.#partitioned.has(label);
  }

  /** The next reply `label` sends is cut after `share` (0–1) of its bytes, and its connection reset. */
  cut(label: string, share: number): void {
    this.#cuts.set(label, share);
  }

  takeCut(label: string): number | undefined {
    const share = this.#cuts.get(label);
    this.#cuts.delete(label);
    return share;
  }

  /** The next reply on one open connection to `label` (the `pick`-th, cyclically) is `ms` late. */
  lag(label: string, pick: number, ms: number): void {
    const open = [...this.#sockets].filter((s) => s.server.label === label && s.connected);
    if (open.length > 0) {
      open[pick % open.length]!.lagNext = ms;
      count("lag: one connection's reply held back");
    }
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
  readonly id: number;
  #net: SimNetwork;
  #input: Buffer = Buffer.alloc(0);
  #state: "connecting" | "open" | "closed" = "connecting";
  /** When the last reply leaves (replies keep their order). */
  #lastReply = 0;
  /** The server process it connected to (a restart is another). */
  #pid: number;
  /** Bytes the client wrote and replies the server sent while partitioned, held until healed. */
  #heldOut: Buffer[] = [];
  #heldIn: Buffer[] = [];
  /** The server reset this connection part-way through a reply: it reads nothing more. */
  #cut = false;
  /** The cut reply is among those held: the reset follows them. */
  #resetOnHeal = false;
  /** Extra delay of the next reply (a reply held back on this connection only). */
  lagNext = 0;

  constructor(net: SimNetwork, server: SimServer) {
    super();
    this.#net = net;
    this.server = server;
    this.#pid = server.pid;
    this.id = ++net.made;
  }

  open(): void {
    if (this.#state !== "connecting") return;
    if (this.#net.partitioned(this.server.label)) return; // hangs until healed (or given up)
    if (!this.server.alive) {
      this.#fail("ECONNREFUSED", "connect ECONNREFUSED");
      return;
    }
    this.#state = "open";
    this.#pid = this.server.pid;
    this.#net.trace?.(`${this.server.label} #${this.id} connected`);
    this.emit("connect");
  }

  /** The address of the server it reached (its label less the port). */
  get remoteAddress(): string {
    const label = this.server.label;
    return label.slice(0, label.lastIndexOf(":"));
  }

  /** Whether it connected and the client has not closed it. */
  get connected(): boolean {
    return this.#state === "open";
  }

  /** The partition healed: a hanging connect completes, and what was held crosses. */
  heal(): void {
    if (this.#state === "connecting") {
      count("partition: a connect hung until healed");
      this.open();
    }
    const out = this.#heldOut;
    if (out.length > 0)
      count(
        this.#state === "closed"
          ? "partition: bytes of a closed socket crossed late"
          : "partition: bytes held",
      );
    this.#heldOut = [];
    for (const bytes of out) this.#arrive(bytes);
    const replies = this.#heldIn;
    this.#heldIn = [];
    for (const reply of replies) if (this.#state === "open") this.emit("data", reply);
    if (this.#resetOnHeal) this.reset();
    else if (this.#state === "closed" && this.#input.length === 0) this.#net.forget(this);
  }

  /** Whether the client has it open. */
  get clientOpen(): boolean {
    return this.#state !== "closed";
  }

  write(chunk: Buffer | string): boolean {
    if (this.#state !== "open") return false;
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : Buffer.from(chunk);
    setTimeout(() => {
      if (this.#net.partitioned(this.server.label) || this.#heldOut.length > 0) this.#heldOut.push(bytes);
      else this.#arrive(bytes);
    }, this.#net.latency);
    return true;
  }

  #arrive(bytes: Buffer): void {
    if (this.server.pid !== this.#pid || !this.server.alive || this.#cut) return; // the process it reached is gone
    this.#net.track(this);
    this.#input = this.#input.length === 0 ? bytes : Buffer.concat([this.#input, bytes]);
    this.pump();
  }

  /** Serves what has arrived, unless the server is paused or gone. */
  pump(): void {
    const server = this.server;
    if (this.#state === "connecting" || server.pid !== this.#pid || !server.alive || server.paused) return;
    if (this.#input.length === 0) return;
    const { used, reply } = server.handle(this.#input);
    this.#net.trace?.(
      `${server.label} #${this.id} ran ${show(this.#input.subarray(0, used))} → ${show(reply)}`,
    );
    this.#input = this.#input.subarray(used);
    if (this.#state === "closed") {
      if (this.#input.length === 0) this.#net.forget(this);
      return;
    }
    if (reply.length === 0) return;
    const lag = this.lagNext;
    this.lagNext = 0;
    const at = Math.max(this.#lastReply, performance.now() + server.delay + this.#net.latency + lag);
    this.#lastReply = at;
    const share = this.#net.takeCut(server.label);
    if (share !== undefined) {
      count("cut: a reply cut and its connection reset");
      // The server's side goes: what it has not read is lost, what it ran stays run.
      this.#cut = true;
      this.#input = Buffer.alloc(0);
    }
    setTimeout(() => {
      if (this.#state !== "open") return;
      if (this.#net.partitioned(server.label) || this.#heldIn.length > 0) {
        this.#heldIn.push(share === undefined ? reply : reply.subarray(0, Math.floor(reply.length * share)));
        if (share !== undefined) this.#resetOnHeal = true;
        return;
      }
      if (share === undefined) return void this.emit("data", reply);
      const part = reply.subarray(0, Math.floor(reply.length * share));
      if (part.length > 0) this.emit("data", part);
      this.reset();
    }, at - performance.now());
  }

  /** The server died: the connection is reset, and what it had not read is lost. */
  reset(): void {
    this.#input = Buffer.alloc(0);
    if (this.#state === "closed") this.#net.forget(this);
    else this.#fail("ECONNRESET", "read ECONNRESET");
  }

  #fail(code: string, message: string): void {
    this.#net.trace?.(`${this.server.label} #${this.id} ${code}`);
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
      this.#net.trace?.(`${this.server.label} #${this.id} closed by the client`);
      this.#state = "closed";
      if (this.#input.length === 0 && this.#heldOut.length === 0) this.#net.forget(this);
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

/** Wire bytes as one line of a trace. */
function show(bytes: Buffer): string {
  return JSON.stringify(bytes.toString("latin1"));
}
