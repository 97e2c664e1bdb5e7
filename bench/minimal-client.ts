/**
 * The floor of any promise-per-call client: as little as a client can do and still be one. Each call
 * appends its meta request to a string and gets a promise; the requests sent together go out in one
 * write, scheduled as memcachio schedules its own;
 * a reply reader finds the `VA` / `EN` / `HD` / `NS` / `MN` lines (a `VA`'s value read by its length
 * and decoded to a string) and settles the call at the head of the FIFO. No key check, no opaque, no
 * deadline, no error handling, no pool, no flags, no codec: the gap between it and memcachio is what
 * memcachio's guarantees and features cost per call; the gap between it and the raw ceilings is what
 * promises and the callers' `await` cost.
 */
import type { Socket } from "node:net";
import type { Contender } from "./contenders.ts";

const GET = 0;
const SET = 1;
const MANY = 2;

export class MinimalClient implements Contender {
  readonly name = "minimal client";
  #socket: Socket | null = null;
  /** Requests of this turn: text so far, and before it the parts that carry a Buffer value. */
  #out = "";
  #parts: (string | Buffer)[] = [];
  #scheduled = false;
  readonly #write = () => {
    this.#scheduled = false;
    const s = this.#socket!;
    if (this.#parts.length > 0) {
      s.cork();
      for (const p of this.#parts) s.write(p);
      s.write(this.#out);
      s.uncork();
      this.#parts = [];
    } else s.write(this.#out);
    this.#out = "";
  };
  /** Calls in flight, FIFO from `#head`: kind and resolve function. */
  #kinds: number[] = [];
  #resolves: ((v: unknown) => void)[] = [];
  #head = 0;
  /** A getMany's values so far. */
  #many: string[] = [];
  /** Bytes of a reply cut by the end of a chunk. */
  #rest: Buffer | null = null;

  constructor(readonly connect: () => Promise<Socket>) {}

  async open(): Promise<void> {
    const s = await this.connect();
    s.on("data", (c: Buffer) => this.#data(c));
    this.#socket = s;
  }

  get(key: string): Promise<unknown> {
    this.#out += `mg ${key} v\r\n`;
    return this.#call(GET);
  }

  set(key: string, value: Buffer | string): Promise<unknown> {
    if (typeof value === "string") this.#out += `ms ${key} ${Buffer.byteLength(value)}\r\n${value}\r\n`;
    else {
      // A Buffer goes out as it is, between the text before it and after it.
      this.#parts.push(`${this.#out}ms ${key} ${value.length}\r\n`, value);
      this.#out = "\r\n";
    }
    return this.#call(SET);
  }

  getMany(keys: string[]): Promise<unknown> {
    let out = "";
    for (const k of keys) out += `mg ${k} v q\r\n`;
    this.#out += `${out}mn\r\n`;
    return this.#call(MANY);
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
  }

  #call(kind: number): Promise<unknown> {
    if (!this.#scheduled) {
      this.#scheduled = true;
      // memcachio's rule (`Pipeline.schedule`): with nothing in flight, write once the current
      // callback's promises have run; with replies owed, after the turn's I/O callbacks.
      if (this.#head === this.#resolves.length) queueMicrotask(this.#write);
      else setImmediate(this.#write);
    }
    this.#kinds.push(kind);
    return new Promise((resolve) => this.#resolves.push(resolve));
  }

  #settle(v: unknown): void {
    this.#resolves[this.#head++]!(v);
    if (this.#head === this.#resolves.length) {
      this.#kinds = [];
      this.#resolves = [];
      this.#head = 0;
    }
  }

  #data(chunk: Buffer): void {
    let b = chunk;
    if (this.#rest !== null) {
      b = Buffer.concat([this.#rest, chunk]);
      this.#rest = null;
    }
    let at = 0;
    while (at < b.length) {
      const nl = b.indexOf(10, at);
      if (nl < 0) break;
      const c0 = b[at]!;
      const c1 = b[at + 1]!;
      if (c0 === 0x56 && c1 === 0x41) {
        // VA <size>
        let size = 0;
        for (let i = at + 3; b[i]! >= 48 && b[i]! <= 57; i++) size = size * 10 + b[i]! - 48;
        if (nl + 1 + size + 2 > b.length) break;
        const value = b.toString("utf8", nl + 1, nl + 1 + size);
        at = nl + 1 + size + 2;
        if (this.#kinds[this.#head] === MANY) this.#many.push(value);
        else this.#settle(value);
        continue;
      }
      at = nl + 1;
      if (c0 === 0x45 && c1 === 0x4e)
        this.#settle(undefined); // EN
      else if (c0 === 0x48 && c1 === 0x44)
        this.#settle(true); // HD
      else if (c0 === 0x4e && c1 === 0x53)
        this.#settle(false); // NS
      else if (c0 === 0x4d && c1 === 0x4e) {
        // MN: the getMany at the head is complete
        const values = this.#many;
        this.#many = [];
        this.#settle(values);
      }
    }
    if (at < b.length) this.#rest = Buffer.from(b.subarray(at));
  }
}
