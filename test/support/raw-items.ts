/**
 * Items read and written on a bare socket in memcached's classic text protocol, with no memcachio
 * code in between: what a server holds, bytes and flags, for tests that check the stored form.
 * One request at a time per socket.
 */
import { createConnection, type Socket } from "node:net";

/** An item as stored: its bytes and client flags. */
export interface RawItem {
  value: Buffer;
  flags: number;
}

export class RawItems {
  readonly #socket: Socket;
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes received and not yet joined to `#buf` (joined once per item, not once per packet). */
  #pending: Buffer[] = [];
  #pendingLength = 0;
  #waiter: (() => void) | null = null;
  #error: Error | null = null;
  /** Requests run one after another. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(label: string) {
    const i = label.lastIndexOf(":");
    this.#socket = createConnection({ host: label.slice(0, i), port: Number(label.slice(i + 1)) });
    this.#socket.on("data", (d: Buffer) => {
      this.#pending.push(d);
      this.#pendingLength += d.length;
      this.#waiter?.();
    });
    this.#socket.on("error", (err) => {
      this.#error = err;
      this.#waiter?.();
    });
  }

  /** The item under `key`, or undefined. */
  get(key: string | Buffer): Promise<RawItem | undefined> {
    return this.#run(async () => {
      this.#socket.write(Buffer.concat([Buffer.from("get "), Buffer.from(key), Buffer.from("\r\n")]));
      const line = await this.#line();
      if (line === "END") return undefined;
      const m = /^VALUE \S+ (\d+) (\d+)$/.exec(line);
      if (m === null) throw new Error(`get: ${line}`);
      const value = await this.#bytes(Number(m[2]));
      const end = await this.#line();
      if (end !== "END") throw new Error(`get: ${end} after the value`);
      return { value, flags: Number(m[1]) };
    });
  }

  /** Stores `value` with `flags` (text `set`); true when stored. */
  set(key: string | Buffer, value: Buffer | string, flags = 0, ttl = 0): Promise<boolean> {
    const data = typeof value === "string" ? Buffer.from(value) : value;
    return this.#run(async () => {
      const head = Buffer.from(
        `set ${Buffer.from(key).toString("latin1")} ${flags} ${ttl} ${data.length}\r\n`,
        "latin1",
      );
      this.#socket.write(Buffer.concat([head, data, Buffer.from("\r\n")]));
      return (await this.#line()) === "STORED";
    });
  }

  /** Deletes `key`; true when it existed. */
  delete(key: string | Buffer): Promise<boolean> {
    return this.#run(async () => {
      this.#socket.write(`delete ${Buffer.from(key).toString("latin1")}\r\n`, "latin1");
      return (await this.#line()) === "DELETED";
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #run<T>(f: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(f, f);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #line(): Promise<string> {
    for (;;) {
      this.#take();
      const end = this.#buf.indexOf("\r\n");
      if (end >= 0) {
        const line = this.#buf.toString("latin1", 0, end);
        this.#buf = this.#buf.subarray(end + 2);
        return line;
      }
      await this.#more();
    }
  }

  async #bytes(n: number): Promise<Buffer> {
    while (this.#buf.length + this.#pendingLength < n + 2) await this.#more();
    this.#take();
    const out = Buffer.from(this.#buf.subarray(0, n));
    this.#buf = this.#buf.subarray(n + 2);
    return out;
  }

  #take(): void {
    if (this.#pending.length === 0) return;
    this.#buf = Buffer.concat([this.#buf, ...this.#pending]);
    this.#pending = [];
    this.#pendingLength = 0;
  }

  #more(): Promise<void> {
    if (this.#error !== null) return Promise.reject(this.#error);
    return new Promise((resolve) => {
      this.#waiter = () => {
        this.#waiter = null;
        resolve();
      };
    });
  }
}
