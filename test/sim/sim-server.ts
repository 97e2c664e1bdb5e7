/**
 * A simulated memcached for the simulator: the meta commands the client sends (`mg` with `v f c t
 * T`, `ms` with `M<E|A|P|R|S> C F T`, `md`, `ma` with `N J D MD T`, `mn`) and the classic ones
 * (`version`, `stats`, `flush_all`), answered as memcached 1.6.18 answers them (see
 * `shared/PROTOCOL-NOTES.md`; real-process tests hold the client to the real server), with TTLs in
 * virtual time. Faults: killed (connections reset, connects refused, data gone), restarted empty,
 * paused (connects accepted, nothing answered until resumed), slow (every reply late by `delay`
 * ms), and a memory cap (`memory` bytes: least recently used items are evicted to stay under it).
 */

import { count } from "./tally.ts";

/** One stored item. */
interface Item {
  data: Buffer;
  flags: number;
  cas: bigint;
  /** Virtual ms at which it expires (Infinity: never). */
  expires: number;
}

/** Seconds past which memcached reads an expiry as an absolute Unix time. */
const RELATIVE_LIMIT = 60 * 60 * 24 * 30;
/** What an item costs beyond its key and data (memcached's item header, roughly). */
const ITEM_OVERHEAD = 48;

export class SimServer {
  readonly label: string;
  alive = true;
  paused = false;
  /** Every reply leaves this many virtual ms after its request is read. */
  delay = 0;
  /** Most bytes of items held (0: no cap); past it, least recently used items are evicted. */
  memory = 0;
  /** Items evicted so far (all processes). */
  evictions = 0;
  /** A configuration endpoint's answer to `config get cluster` (null: memcached's `ERROR`). */
  config: (() => string) | null = null;
  /** Starts (a restart makes a new process: new pid). */
  pid = 1;
  /** Items in least-recently-used-first order (a use moves an item to the end). */
  readonly items = new Map<string, Item>();
  #bytes = 0;
  #cas = 0n;
  readonly #now: () => number;

  constructor(label: string, now: () => number) {
    this.label = label;
    this.#now = now;
  }

  kill(): void {
    this.alive = false;
    this.paused = false;
    this.#clear();
  }

  restart(): void {
    this.#clear();
    this.alive = true;
    this.paused = false;
    this.pid++;
  }

  /**
   * Answers the complete commands at the head of `input`; returns the bytes used and the reply.
   * A command whose value block has not all arrived waits for more input.
   */
  handle(input: Buffer): { used: number; reply: Buffer } {
    const out: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const eol = input.indexOf("\r\n", pos);
      if (eol < 0) break;
      const line = input.toString("latin1", pos, eol);
      const words = line.split(" ");
      let next = eol + 2;
      let data: Buffer | null = null;
      if (words[0] === "ms") {
        const len = Number(words[2]);
        if (input.length < next + len + 2) break;
        data = Buffer.from(input.subarray(next, next + len));
        next += len + 2;
      }
      out.push(Buffer.from(this.#command(words, data), "latin1"));
      pos = next;
    }
    return { used: pos, reply: Buffer.concat(out) };
  }

  #command(w: string[], data: Buffer | null): string {
    switch (w[0]) {
      case "mg":
        return this.#get(w[1]!, flagsOf(w.slice(2)));
      case "ms":
        return this.#set(w[1]!, flagsOf(w.slice(3)), data!);
      case "md":
        return this.#delete(w[1]!, flagsOf(w.slice(2)));
      case "ma":
        return this.#arith(w[1]!, flagsOf(w.slice(2)));
      case "mn":
        return "MN\r\n";
      case "config":
        return this.config !== null && w[1] === "get" && w[2] === "cluster" ? this.config() : "ERROR\r\n";
      case "version":
        return "VERSION 1.6.18\r\n";
      case "flush_all":
        this.#clear();
        return "OK\r\n";
      case "stats":
        return `STAT pid ${this.pid}\r\nSTAT curr_items ${this.items.size}\r\nSTAT evictions ${this.evictions}\r\nEND\r\n`;
      default:
        return "ERROR\r\n";
    }
  }

  #clear(): void {
    this.items.clear();
    this.#bytes = 0;
  }

  /** The item of `key` unless expired; a use (`bump`) makes it the most recently used. */
  #live(key: string, bump = true): Item | undefined {
    const item = this.items.get(key);
    if (item === undefined) return undefined;
    if (item.expires <= this.#now()) {
      this.#remove(key, item);
      return undefined;
    }
    if (bump) {
      this.items.delete(key);
      this.items.set(key, item);
    }
    return item;
  }

  #remove(key: string, item: Item): void {
    this.items.delete(key);
    this.#bytes -= key.length + item.data.length + ITEM_OVERHEAD;
  }

  /** Stores `item` as the most recently used, evicting from the least recently used end to fit. */
  #store(key: string, item: Item): void {
    const old = this.items.get(key);
    if (old !== undefined) this.#remove(key, old);
    this.items.set(key, item);
    this.#bytes += key.length + item.data.length + ITEM_OVERHEAD;
    if (this.memory <= 0) return;
    for (const [k, it] of this.items) {
      if (this.#bytes <= this.memory || k === key) break;
      this.#remove(k, it);
      this.evictions++;
      count("eviction");
    }
  }

  #expiry(ttl: string | undefined): number {
    const t = ttl === undefined ? 0 : Number(ttl);
    if (t === 0) return Number.POSITIVE_INFINITY;
    if (t < 0) return this.#now();
    if (t > RELATIVE_LIMIT) return (t - Date.now() / 1000) * 1000 + this.#now();
    return this.#now() + t * 1000;
  }

  #get(key: string, f: Flags): string {
    const item = this.#live(key);
    if (item === undefined) return f.has("q") ? "" : `EN${echo(f, key)}\r\n`;
    if (f.has("T")) item.expires = this.#expiry(f.get("T"));
    let ret = "";
    if (f.has("f")) ret += ` f${item.flags}`;
    if (f.has("c")) ret += ` c${item.cas}`;
    if (f.has("t"))
      ret += ` t${item.expires === Number.POSITIVE_INFINITY ? -1 : Math.max(0, Math.ceil((item.expires - this.#now()) / 1000))}`;
    if (f.has("s")) ret += ` s${item.data.length}`;
    ret += echo(f, key);
    if (!f.has("v")) return `HD${ret}\r\n`;
    return `VA ${item.data.length}${ret}\r\n${item.data.toString("latin1")}\r\n`;
  }

  #set(key: string, f: Flags, data: Buffer): string {
    const mode = f.get("M") ?? "S";
    const item = this.#live(key, false);
    const quiet = f.has("q");
    const reply = (code: string) => (quiet && code === "HD" ? "" : `${code}${echo(f, key)}\r\n`);
    // Add, replace, append and prepend refuse before the CAS is compared (`ms k 1 MA C1` on a
    // missing key is NS; a plain `ms k 1 C1` is NF).
    if (mode === "E" ? item !== undefined : mode !== "S" && item === undefined) return reply("NS");
    if (f.has("C") && (item === undefined || item.cas !== BigInt(f.get("C")!)))
      return reply(item === undefined ? "NF" : "EX");
    const cas = ++this.#cas;
    if (mode === "A" || mode === "P") {
      // The item keeps its flags and TTL.
      const joined = mode === "A" ? Buffer.concat([item!.data, data]) : Buffer.concat([data, item!.data]);
      this.#store(key, { ...item!, data: joined, cas });
      return reply("HD");
    }
    this.#store(key, { data, flags: Number(f.get("F") ?? 0), cas, expires: this.#expiry(f.get("T")) });
    return reply("HD");
  }

  #delete(key: string, f: Flags): string {
    const item = this.#live(key, false);
    const quiet = f.has("q");
    if (item === undefined) return `NF${echo(f, key)}\r\n`;
    if (f.has("C") && item.cas !== BigInt(f.get("C")!)) return `EX${echo(f, key)}\r\n`;
    this.#remove(key, item);
    return quiet ? "" : `HD${echo(f, key)}\r\n`;
  }

  #arith(key: string, f: Flags): string {
    let item = this.#live(key);
    if (item === undefined) {
      if (!f.has("N")) return `NF${echo(f, key)}\r\n`;
      // Created with the initial value as it is: the delta is not applied.
      item = { data: Buffer.from(f.get("J") ?? "0"), flags: 0, cas: ++this.#cas, expires: 0 };
      item.expires = this.#expiry(f.has("T") ? f.get("T") : f.get("N"));
      this.#store(key, item);
    } else {
      const digits = item.data.toString("latin1").trimEnd();
      if (!/^\s*\d{1,20}$/.test(digits) || BigInt(digits) > 0xffffffffffffffffn)
        return "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
      const delta = BigInt(f.get("D") ?? "1");
      const now = BigInt(digits);
      const mode = f.get("M") ?? "I";
      if (!["I", "+", "D", "-"].includes(mode)) return "CLIENT_ERROR invalid mode for ma M token\r\n";
      const incr = mode === "I" || mode === "+";
      const next = (incr ? (now + delta) & 0xffffffffffffffffn : now > delta ? now - delta : 0n).toString();
      // memcached rewrites a counter in place when the new digits fit, padding with spaces (a get
      // then reads `9 ` after a decr from 10); longer digits make a new item.
      const data =
        next.length < item.data.length ? Buffer.from(next.padEnd(item.data.length)) : Buffer.from(next);
      const expires = f.has("T") ? this.#expiry(f.get("T")) : item.expires;
      item = { ...item, data, cas: ++this.#cas, expires };
      this.#store(key, item);
      if (!f.has("v")) return `HD${echo(f, key)}\r\n`;
      return `VA ${next.length}${echo(f, key)}\r\n${next}\r\n`;
    }
    if (!f.has("v")) return `HD${echo(f, key)}\r\n`;
    return `VA ${item.data.length}${echo(f, key)}\r\n${item.data.toString("latin1")}\r\n`;
  }
}

type Flags = Map<string, string>;

/** Meta flags: the first letter, and the token after it. */
function flagsOf(tokens: string[]): Flags {
  const f: Flags = new Map();
  for (const t of tokens) if (t.length > 0) f.set(t[0]!, t.slice(1));
  return f;
}

/** The `O` and `k` flags a reply echoes (memcached 1.6.18 echoes them on `EN` too). */
function echo(f: Flags, key: string): string {
  let s = "";
  if (f.has("O")) s += ` O${f.get("O")}`;
  if (f.has("k")) s += ` k${key}`;
  if (f.has("b")) s += " b";
  return s;
}
