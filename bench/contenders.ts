/**
 * The clients the bench compares, behind one small interface: memcachio and the peer clients as a
 * user would call them (default options), plus a raw-socket ceiling.
 */
import { createConnection, type Socket } from "node:net";
import { MemcacheClient } from "memcache-client";
import Memcached from "memcached";
import memjs from "memjs";
import { Client, type ClientOptions } from "../src/index.ts";

export interface Contender {
  name: string;
  get(key: string): Promise<unknown>;
  set(key: string, value: Buffer | string): Promise<unknown>;
  getMany(keys: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * memcachio with default options; `options` adds the protocol or TLS for the variant rows.
 * `Impl`: another build of the class (the `--base` row: memcachio at an earlier commit).
 */
export function memcachio(
  label: string,
  name = "memcachio",
  options: Partial<ClientOptions> = {},
  Impl: typeof Client = Client,
): Contender {
  const mc = new Impl({ servers: [label], timeout: 5000, ...options });
  return {
    name,
    get: (k) => mc.get(k),
    set: (k, v) => mc.set(k, v),
    getMany: (keys) => mc.getMany(keys),
    close: () => mc.close(),
  };
}

export function memjsClient(label: string): Contender {
  const c = memjs.Client.create(label, { logger: { log: () => {} } });
  return {
    name: "memjs",
    get: (k) => c.get(k),
    set: (k, v) => c.set(k, v, {}),
    // memjs has no multi-get: a user issues the gets in parallel.
    getMany: (keys) => Promise.all(keys.map((k) => c.get(k))),
    close: async () => c.close(),
  };
}

export function memcachedClient(label: string): Contender {
  const c = new Memcached(label, { timeout: 5000 });
  return {
    name: "memcached",
    get: (k) => new Promise((res, rej) => c.get(k, (e: unknown, v: unknown) => (e ? rej(e) : res(v)))),
    set: (k, v) =>
      new Promise((res, rej) => c.set(k, v, 0, (e: unknown, ok: unknown) => (e ? rej(e) : res(ok)))),
    getMany: (keys) =>
      new Promise((res, rej) => c.getMulti(keys, (e: unknown, v: unknown) => (e ? rej(e) : res(v)))),
    close: async () => c.end(),
  };
}

export function memcacheClient(label: string): Contender {
  const c = new MemcacheClient({ server: label });
  return {
    name: "memcache-client",
    get: (k) => c.get(k),
    set: (k, v) => c.set(k, v),
    getMany: (keys) => c.get(keys),
    close: async () => c.shutdown(),
  };
}

/**
 * The floor of the API's shape: what any client whose calls each return a promise pays at least, on
 * the same bare socket as the raw ceilings. Each call formats its request into a shared buffer (written
 * once per event-loop turn, like memcachio's) and gets a promise, settled when its fixed-size reply has
 * arrived, with the value decoded to a string. No key check, no deadline, no opaque, no reply parsing:
 * only the bench's fixed-size values work. The gap between it and the raw ceilings is the cost of
 * promises and of the callers' `await`; the gap between memcachio and it is memcachio's own.
 */
export class PromiseFloor implements Contender {
  readonly name = "raw promises";
  #socket: Socket | null = null;
  #out = Buffer.allocUnsafe(1 << 20);
  #pos = 0;
  #flushing = false;
  readonly #flush = () => this.#write();
  /** Per call in flight (FIFO from `#head`): its kind (GET, SET, MANY), key count, resolve function. */
  readonly #kinds: number[] = [];
  readonly #counts: number[] = [];
  readonly #resolves: ((v: unknown) => void)[] = [];
  #head = 0;
  #rest: Buffer | null = null;
  /** Sizes of a `VA` header line and of a whole `VA` reply. */
  readonly #vaHead: number;
  readonly #va: number;

  /** `valueSize`: the length of every value read (replies are then all the same size). */
  constructor(
    readonly host: string,
    readonly port: number,
    readonly valueSize: number,
  ) {
    this.#vaHead = `VA ${valueSize} f0\r\n`.length;
    this.#va = this.#vaHead + valueSize + 2;
  }

  async open(): Promise<void> {
    const s = await connected(this.host, this.port);
    s.on("data", (c: Buffer) => this.#data(c));
    this.#socket = s;
  }

  get(key: string): Promise<unknown> {
    this.#line(`mg ${key} v f\r\n`);
    return this.#call(GET, 1);
  }

  set(key: string, value: Buffer | string): Promise<unknown> {
    const v = typeof value === "string" ? Buffer.from(value) : value;
    this.#line(`ms ${key} ${v.length} T0\r\n`);
    this.#ensure(v.length + 2);
    this.#out.set(v, this.#pos);
    this.#pos += v.length;
    this.#line("\r\n");
    return this.#call(SET, 1);
  }

  getMany(keys: string[]): Promise<unknown> {
    for (const k of keys) this.#line(`mg ${k} v f q\r\n`);
    this.#line("mn\r\n");
    return this.#call(MANY, keys.length);
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
  }

  #ensure(n: number): void {
    if (this.#pos + n > this.#out.length) throw new Error("raw promises: more than 1 MiB in one turn");
  }

  #line(text: string): void {
    this.#ensure(text.length);
    this.#pos += this.#out.write(text, this.#pos, "latin1");
  }

  #call(kind: number, count: number): Promise<unknown> {
    let resolve!: (v: unknown) => void;
    const promise = new Promise((r) => {
      resolve = r;
    });
    this.#kinds.push(kind);
    this.#counts.push(count);
    this.#resolves.push(resolve);
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(this.#flush);
    }
    return promise;
  }

  #write(): void {
    this.#flushing = false;
    const s = this.#socket!;
    s.write(this.#out.subarray(0, this.#pos));
    this.#pos = 0;
    // The socket still holds a view of the buffer: write the next turn into a new one.
    if (s.writableLength > 0) this.#out = Buffer.allocUnsafe(this.#out.length);
  }

  #size(i: number): number {
    const k = this.#kinds[i]!;
    return k === GET ? this.#va : k === SET ? 4 : this.#va * this.#counts[i]! + 4;
  }

  #data(chunk: Buffer): void {
    let b = chunk;
    if (this.#rest !== null) {
      b = Buffer.concat([this.#rest, chunk]);
      this.#rest = null;
    }
    const [head, va, n] = [this.#vaHead, this.#va, this.valueSize];
    let at = 0;
    for (let i = this.#head; i < this.#kinds.length; i++) {
      const size = this.#size(i);
      if (b.length - at < size) break;
      const kind = this.#kinds[i]!;
      let v: unknown = true;
      if (kind === GET) v = b.toString("utf8", at + head, at + head + n);
      else if (kind === MANY) {
        const values = new Array<string>(this.#counts[i]!);
        for (let k = 0; k < values.length; k++) {
          values[k] = b.toString("utf8", at + k * va + head, at + k * va + head + n);
        }
        v = values;
      }
      this.#resolves[i]!(v);
      at += size;
      this.#head++;
    }
    if (this.#head > 4096) {
      this.#kinds.splice(0, this.#head);
      this.#counts.splice(0, this.#head);
      this.#resolves.splice(0, this.#head);
      this.#head = 0;
    }
    if (at < b.length) this.#rest = b.subarray(at);
  }
}

const GET = 0;
const SET = 1;
const MANY = 2;

/** A bare TCP socket (no Nagle) once connected. */
async function connected(host: string, port: number): Promise<Socket> {
  const s = createConnection({ host, port });
  s.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    s.once("connect", resolve);
    s.once("error", reject);
  });
  return s;
}

/**
 * The ceiling: a bare socket writing pre-formatted meta requests and counting fixed-size replies
 * by their length (no parsing, no promises). Keeps `window` requests (or batches) in flight.
 */
export class RawSocket {
  #socket: Socket | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  async open(): Promise<void> {
    this.#socket = await connected(this.host, this.port);
  }

  close(): void {
    this.#socket?.destroy();
  }

  /**
   * Runs for `ms`: `requests[i]` are pre-formatted units (one request, or a batch) whose replies are
   * each `replySize` bytes. Returns units completed per second.
   */
  window(requests: Buffer[], replySize: number, window: number, ms: number): Promise<number> {
    const s = this.#socket!;
    const n = requests.length;
    let next = 0;
    let bytes = 0;
    let done = 0;
    let stop = false;
    const send = (count: number) => {
      const parts: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        parts.push(requests[next]!);
        next = (next + 1) % n;
      }
      s.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    };
    return new Promise((resolve) => {
      let inFlight = window;
      const t0 = performance.now();
      const onData = (chunk: Buffer) => {
        bytes += chunk.length;
        const completed = Math.floor(bytes / replySize);
        bytes -= completed * replySize;
        done += completed;
        inFlight -= completed;
        if (!stop) {
          send(completed);
          inFlight += completed;
        } else if (inFlight === 0) {
          s.off("data", onData);
          resolve((done / (performance.now() - t0)) * 1000);
        }
      };
      s.on("data", onData);
      setTimeout(() => {
        stop = true;
      }, ms);
      send(window);
    });
  }

  /**
   * The ceiling: pre-formatted pipelined batches. Writes `batch` units in one write, waits for
   * all their replies, repeats, for `ms`. Returns units completed per second.
   */
  batches(requests: Buffer[], replySize: number, batch: number, ms: number): Promise<number> {
    const s = this.#socket!;
    const n = requests.length;
    const blocks: Buffer[] = [];
    for (let b = 0; b < n; b += batch) {
      blocks.push(Buffer.concat(Array.from({ length: batch }, (_, i) => requests[(b + i) % n]!)));
    }
    const want = replySize * batch;
    let block = 0;
    let bytes = 0;
    let done = 0;
    let stop = false;
    return new Promise((resolve) => {
      const t0 = performance.now();
      const onData = (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes < want) return;
        bytes -= want;
        done += batch;
        if (stop) {
          s.off("data", onData);
          resolve((done / (performance.now() - t0)) * 1000);
          return;
        }
        block = (block + 1) % blocks.length;
        s.write(blocks[block]!);
      };
      s.on("data", onData);
      setTimeout(() => {
        stop = true;
      }, ms);
      s.write(blocks[0]!);
    });
  }

  /** One request at a time, cycling through `requests`: latency of each, in ms. */
  async sequential(requests: Buffer[], replySize: number, ms: number): Promise<number[]> {
    const s = this.#socket!;
    const lat: number[] = [];
    const end = performance.now() + ms;
    for (let i = 0; performance.now() < end; i++) {
      const request = requests[i % requests.length]!;
      const t = performance.now();
      await new Promise<void>((resolve) => {
        let got = 0;
        const onData = (c: Buffer) => {
          got += c.length;
          if (got >= replySize) {
            s.off("data", onData);
            resolve();
          }
        };
        s.on("data", onData);
        s.write(request);
      });
      lat.push(performance.now() - t);
    }
    return lat;
  }
}
