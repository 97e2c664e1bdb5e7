/**
 * A simulated memcached for the simulator: the meta commands the client sends (`mg`, `ms`, `md`,
 * `ma`, `mn`) and the classic ones (`version`, `stats`, `flush_all`), answered as memcached 1.6.18
 * answers them (see `shared/PROTOCOL-NOTES.md`; real-process tests hold the client to the real
 * server), with TTLs in virtual time. Faults: killed (connections reset, connects refused, data
 * gone), restarted empty, paused (connects accepted, nothing answered until resumed), and slow
 * (every reply late by `delay` ms).
 */

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

export class SimServer {
  readonly label: string;
  alive = true;
  paused = false;
  /** Every reply leaves this many virtual ms after its request is read. */
  delay = 0;
  /** Starts (a restart makes a new process: new pid). */
  pid = 1;
  readonly items = new Map<string, Item>();
  #cas = 0n;
  readonly #now: () => number;

  constructor(label: string, now: () => number) {
    this.label = label;
    this.#now = now;
  }

  kill(): void {
    this.alive = false;
    this.paused = false;
    this.items.clear();
  }

  restart(): void {
    this.items.clear();
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
      case "version":
        return "VERSION 1.6.18\r\n";
      case "flush_all":
        this.items.clear();
        return "OK\r\n";
      case "stats":
        return `STAT pid ${this.pid}\r\nSTAT curr_items ${this.items.size}\r\nEND\r\n`;
      default:
        return "ERROR\r\n";
    }
  }

  #live(key: string): Item | undefined {
    const item = this.items.get(key);
    if (item !== undefined && item.expires <= this.#now()) {
      this.items.delete(key);
      return undefined;
    }
    return item;
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
    const item = this.#live(key);
    const quiet = f.has("q");
    const reply = (code: string) => (quiet && code === "HD" ? "" : `${code}${echo(f, key)}\r\n`);
    if (f.has("C") && (item === undefined || item.cas !== BigInt(f.get("C")!)))
      return reply(item === undefined ? "NF" : "EX");
    if (
      (mode === "E" && item !== undefined) ||
      ((mode === "R" || mode === "A" || mode === "P") && item === undefined)
    )
      return reply(mode === "E" ? "NS" : "NS");
    const cas = ++this.#cas;
    if (mode === "A" || mode === "P") {
      item!.data = mode === "A" ? Buffer.concat([item!.data, data]) : Buffer.concat([data, item!.data]);
      item!.cas = cas;
      return reply("HD");
    }
    this.items.set(key, { data, flags: Number(f.get("F") ?? 0), cas, expires: this.#expiry(f.get("T")) });
    return reply("HD");
  }

  #delete(key: string, f: Flags): string {
    const item = this.#live(key);
    const quiet = f.has("q");
    if (item === undefined) return `NF${echo(f, key)}\r\n`;
    if (f.has("C") && item.cas !== BigInt(f.get("C")!)) return `EX${echo(f, key)}\r\n`;
    this.items.delete(key);
    return quiet ? "" : `HD${echo(f, key)}\r\n`;
  }

  #arith(key: string, f: Flags): string {
    let item = this.#live(key);
    if (item === undefined) {
      if (!f.has("N")) return `NF${echo(f, key)}\r\n`;
      const initial = Buffer.from(f.get("J") ?? "0");
      item = { data: initial, flags: 0, cas: ++this.#cas, expires: this.#expiry(f.get("N")) };
      this.items.set(key, item);
    } else {
      const delta = BigInt(f.get("D") ?? "1");
      const now = BigInt(item.data.toString("latin1"));
      const mode = f.get("M") ?? "I";
      const incr = mode === "I" || mode === "i" || mode === "+";
      const next = incr ? (now + delta) & 0xffffffffffffffffn : now > delta ? now - delta : 0n;
      item.data = Buffer.from(next.toString());
      item.cas = ++this.#cas;
      if (f.has("T")) item.expires = this.#expiry(f.get("T"));
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
