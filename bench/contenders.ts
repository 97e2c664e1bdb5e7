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

/** A bare TCP socket (no Nagle) once connected. */
export async function connected(host: string, port: number): Promise<Socket> {
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
