/**
 * A tiny scripted memcached stand-in, only for replies a real memcached cannot be made to send
 * (hostile-server tests). It answers `version`, `mn`, and `mg <key> … O<n>` (a miss, or a value from
 * `values`), one line at a time; `misbehave` can take over the answer to a request.
 */
import { createServer, type Server, type Socket } from "node:net";

/** A request as the fake sees it, and the socket to answer on. */
export interface FakeRequest {
  line: string;
  verb: string;
  key: string | undefined;
  /** The `O…` token, e.g. `O12` (empty when absent). */
  opaque: string;
  socket: Socket;
}

export class FakeMemcached {
  readonly host = "127.0.0.1";
  port = 0;
  accepted = 0;
  readonly values = new Map<string, string>();
  /** Return true when it answered (or chose not to) instead of the normal reply. */
  misbehave: ((req: FakeRequest) => boolean) | null = null;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor() {
    this.#server = createServer((s) => this.#accept(s));
  }

  get label(): string {
    return `${this.host}:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, this.host, r));
    const a = this.#server.address();
    this.port = typeof a === "object" && a !== null ? a.port : 0;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #accept(s: Socket): void {
    this.accepted++;
    this.#sockets.add(s);
    s.on("close", () => this.#sockets.delete(s));
    s.on("error", () => {});
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        this.#answer(line, s);
      }
    });
  }

  #answer(line: string, socket: Socket): void {
    const parts = line.split(" ");
    const verb = parts[0] ?? "";
    const opaque = parts.find((p) => /^O\d+$/.test(p)) ?? "";
    const req: FakeRequest = { line, verb, key: parts[1], opaque, socket };
    if (verb !== "version" && this.misbehave?.(req) === true) return;
    if (verb === "version") socket.write("VERSION 1.6.18\r\n");
    else if (verb === "mn") socket.write("MN\r\n");
    else if (verb === "mg") {
      const v = this.values.get(req.key ?? "");
      socket.write(v === undefined ? `EN ${opaque}\r\n` : `VA ${v.length} f0 ${opaque}\r\n${v}\r\n`);
    } else socket.write("ERROR\r\n");
  }
}
