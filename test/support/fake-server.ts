/**
 * A tiny scripted memcached stand-in, only for replies a real memcached cannot be made to send
 * (hostile-server tests). Meta: it answers `version`, `mn`, and `mg <key> … O<n>` (a miss, or a value
 * from `values`), one line at a time. Binary (`new FakeMemcached("binary")`): Version, Noop and Get, one
 * packet at a time, with the request's opaque. Text: `version` and `get <key>` (`VALUE … END`).
 * `misbehave` can take over the answer to a request.
 */
import { eachLine } from "./lines.ts";
import { createServer, type Server, type Socket } from "node:net";

/** A request as the fake sees it, and the socket to answer on. */
export interface FakeRequest {
  line: string;
  verb: string;
  key: string | undefined;
  /** Meta: the `O…` token, e.g. `O000C` (empty when absent). Binary: the opaque in decimal. */
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

  constructor(readonly protocol: "meta" | "binary" | "text" = "meta") {
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
    if (this.protocol === "binary") {
      this.#acceptBinary(s);
      return;
    }
    eachLine(s, (line) => this.#answer(line, s));
  }

  #answer(line: string, socket: Socket): void {
    const parts = line.split(" ");
    const verb = parts[0] ?? "";
    const opaque = parts.find((p) => /^O[\w-]+$/.test(p)) ?? "";
    const req: FakeRequest = { line, verb, key: parts[1], opaque, socket };
    if (verb !== "version" && this.misbehave?.(req) === true) return;
    if (verb === "version") socket.write("VERSION 1.6.18\r\n");
    else if (verb === "mn") socket.write("MN\r\n");
    else if (verb === "get" && this.protocol === "text") socket.write(this.textHits(parts.slice(1)));
    else if (verb === "mg") {
      const v = this.values.get(req.key ?? "");
      socket.write(v === undefined ? `EN ${opaque}\r\n` : `VA ${v.length} f0 ${opaque}\r\n${v}\r\n`);
    } else socket.write("ERROR\r\n");
  }

  /** Text: the answer to `get <keys…>`, hits in the order given, then `END`. */
  textHits(keys: string[]): string {
    let out = "";
    for (const k of keys) {
      const v = this.values.get(k);
      if (v !== undefined) out += `VALUE ${k} 0 ${v.length}\r\n${v}\r\n`;
    }
    return `${out}END\r\n`;
  }

  #acceptBinary(s: Socket): void {
    let buf = Buffer.alloc(0);
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 24 && buf.length >= 24 + buf.readUInt32BE(8)) {
        const opcode = buf[1]!;
        const keyLength = buf.readUInt16BE(2);
        const extras = buf[4]!;
        const opaque = buf.readUInt32BE(12);
        const key = buf.toString("latin1", 24 + extras, 24 + extras + keyLength);
        buf = buf.subarray(24 + buf.readUInt32BE(8));
        const verb =
          opcode === 0x00 ? "get" : opcode === 0x0a ? "noop" : opcode === 0x0b ? "version" : "other";
        const req: FakeRequest = { line: verb, verb, key, opaque: String(opaque), socket: s };
        if (verb !== "version" && this.misbehave?.(req) === true) continue;
        if (verb === "version") s.write(binaryResponse(opcode, opaque, { value: "1.6.18" }));
        else if (verb === "get") {
          const v = this.values.get(key);
          s.write(
            v === undefined
              ? binaryResponse(0, opaque, { status: 1, value: "Not found" })
              : binaryResponse(0, opaque, { flags: 0, value: v }),
          );
        } else s.write(binaryResponse(opcode, opaque, { status: opcode === 0x0a ? 0 : 0x81 }));
      }
    });
  }
}

/** A binary response packet: `flags` adds the 4-byte extras of a Get response. */
export function binaryResponse(
  opcode: number,
  opaque: number,
  o: { status?: number; flags?: number; key?: string; value?: string; bodyLength?: number } = {},
): Buffer {
  const extras = o.flags === undefined ? 0 : 4;
  const key = Buffer.from(o.key ?? "", "latin1");
  const value = Buffer.from(o.value ?? "", "latin1");
  const h = Buffer.alloc(24 + extras);
  h[0] = 0x81;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras;
  h.writeUInt16BE(o.status ?? 0, 6);
  h.writeUInt32BE(o.bodyLength ?? extras + key.length + value.length, 8);
  h.writeUInt32BE(opaque, 12);
  if (o.flags !== undefined) h.writeUInt32BE(o.flags, 24);
  return Buffer.concat([h, key, value]);
}
