/**
 * A tiny authoritative DNS server over UDP on 127.0.0.1, for tests of DNS-based service discovery. It
 * answers A, AAAA and SRV questions from records set by the test, with TTL 1 s, and can go silent to
 * play a dead server. Hand-written (RFC 1035 / 2782 / 3596 subset): one question per query, no
 * compression in what it reads, none in what it writes, no EDNS in the answer.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv4, isIPv6 } from "node:net";

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  SRV?: SrvRecord[];
}

export interface DnsServer {
  /** "127.0.0.1:<port>", ready for dns.promises.Resolver#setServers. */
  readonly address: string;
  readonly port: number;
  /** Replaces the records of `name` (case-insensitive, no trailing dot needed). */
  set(name: string, records: DnsRecords): void;
  /** Forgets `name`: queries for it get NXDOMAIN. */
  remove(name: string): void;
  /** Makes every query go unanswered (true) or answered again (false), to simulate a dead DNS server. */
  silence(on: boolean): void;
  /** Answers every query of `type` with SERVFAIL (true) or normally again (false): one family failing. */
  serverFailure(type: "A" | "AAAA" | "SRV", on: boolean): void;
  /**
   * Answers every query of `type` badly until called with null: `"truncated"` (TC set and no
   * answer: the resolver retries over TCP, where nothing listens) or `"malformed"` (the right ID
   * and question, then an answer record cut short).
   */
  misbehave(type: "A" | "AAAA" | "SRV", how: "truncated" | "malformed" | null): void;
  /** Number of queries received (any type), counting the ones left unanswered by `silence`. */
  readonly queries: number;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
const CLASS_IN = 1;
const TTL = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const TYPES = { A: TYPE_A, AAAA: TYPE_AAAA, SRV: TYPE_SRV } as const;
const RCODE_NOTIMP = 4;
/** Header flag: the answer was truncated (TC). */
const FLAG_TC = 0x0200;

/** A parsed query: what the answer needs from it. */
interface Query {
  id: number;
  flags: number;
  name: string;
  type: number;
  cls: number;
  /** The question section as received, echoed byte for byte (case included: resolvers compare it). */
  question: Buffer;
}

class UdpDnsServer implements DnsServer {
  #queries = 0;
  #silent = false;
  #closed = false;
  readonly #failing = new Set<number>();
  readonly #bad = new Map<number, "truncated" | "malformed">();
  readonly #zone = new Map<string, DnsRecords>();
  readonly #socket: Socket;

  constructor(
    readonly port: number,
    socket: Socket,
  ) {
    this.#socket = socket;
    this.#socket.on("message", (msg, from) => this.#onMessage(msg, from));
    // A client that went away makes send fail with ECONNREFUSED on some platforms: not our problem.
    this.#socket.on("error", () => {});
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get queries(): number {
    return this.#queries;
  }

  set(name: string, records: DnsRecords): void {
    for (const a of records.A ?? []) if (!isIPv4(a)) throw new TypeError(`not an IPv4 address: ${a}`);
    for (const a of records.AAAA ?? []) if (!isIPv6(a)) throw new TypeError(`not an IPv6 address: ${a}`);
    encodeName(name); // throws on a name DNS cannot carry, here rather than in the middle of a reply
    for (const s of records.SRV ?? []) encodeName(s.target);
    const copy: DnsRecords = {};
    if (records.A) copy.A = [...records.A];
    if (records.AAAA) copy.AAAA = [...records.AAAA];
    if (records.SRV) copy.SRV = records.SRV.map((s) => ({ ...s }));
    this.#zone.set(canonical(name), copy);
  }

  remove(name: string): void {
    this.#zone.delete(canonical(name));
  }

  silence(on: boolean): void {
    this.#silent = on;
  }

  serverFailure(type: "A" | "AAAA" | "SRV", on: boolean): void {
    if (on) this.#failing.add(TYPES[type]);
    else this.#failing.delete(TYPES[type]);
  }

  misbehave(type: "A" | "AAAA" | "SRV", how: "truncated" | "malformed" | null): void {
    if (how === null) this.#bad.delete(TYPES[type]);
    else this.#bad.set(TYPES[type], how);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #onMessage(msg: Buffer, from: RemoteInfo): void {
    const q = parseQuery(msg);
    if (q === null) return;
    this.#queries++;
    if (this.#silent) return;
    this.#socket.send(this.#answer(q), from.port, from.address);
  }

  #answer(q: Query): Buffer {
    const opcode = (q.flags >> 11) & 0xf;
    if (opcode !== 0) return header(q, RCODE_NOTIMP, 0);
    if (this.#failing.has(q.type)) return header(q, RCODE_SERVFAIL, 0);
    const bad = this.#bad.get(q.type);
    if (bad === "truncated") {
      const h = header(q, 0, 0);
      h.writeUInt16BE(h.readUInt16BE(2) | FLAG_TC, 2);
      return h;
    }
    // One answer announced; its owner name is there, its type, class, TTL and data are not.
    if (bad === "malformed")
      return Buffer.concat([header(q, 0, 1), q.question.subarray(0, q.question.length - 4)]);
    const records = this.#zone.get(canonical(q.name));
    if (records === undefined) return header(q, RCODE_NXDOMAIN, 0);
    const rdatas = q.cls === CLASS_IN ? rdataFor(records, q.type) : [];
    const owner = q.question.subarray(0, q.question.length - 4); // the QNAME exactly as asked
    const answers = rdatas.map((rdata) => {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt16BE(q.type, 0);
      fixed.writeUInt16BE(CLASS_IN, 2);
      fixed.writeUInt32BE(TTL, 4);
      fixed.writeUInt16BE(rdata.length, 8);
      return Buffer.concat([owner, fixed, rdata]);
    });
    return Buffer.concat([header(q, 0, answers.length), ...answers]);
  }
}

export async function startDnsServer(): Promise<DnsServer> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  return new UdpDnsServer(socket.address().port, socket);
}

/** The header of an answer to `q` followed by its question; ANCOUNT = `answers`, no NS, no AR. */
function header(q: Query, rcode: number, answers: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(q.id, 0);
  // QR=1, opcode copied, AA=1, TC=0, RD copied, RA=0, Z=0.
  const flags = 0x8000 | (q.flags & 0x7800) | 0x0400 | (q.flags & 0x0100) | rcode;
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers, 6);
  return Buffer.concat([h, q.question]);
}

/** Parses a query; null for anything that is not one well-formed question (or is a response). */
function parseQuery(msg: Buffer): Query | null {
  if (msg.length < 12) return null;
  const flags = msg.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) return null;
  // Exactly one question; answer and authority sections are empty in a query. Additional records
  // (c-ares adds an EDNS OPT) are skipped unread.
  if (msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return null;
  const labels: string[] = [];
  let at = 12;
  for (;;) {
    const len = msg[at];
    if (len === undefined || len > 63) return null; // out of bounds, or a compression pointer
    at++;
    if (len === 0) break;
    if (at + len > msg.length) return null;
    labels.push(msg.toString("latin1", at, at + len));
    at += len;
  }
  if (at - 12 > 255 || at + 4 > msg.length) return null;
  return {
    id: msg.readUInt16BE(0),
    flags,
    name: labels.join("."),
    type: msg.readUInt16BE(at),
    cls: msg.readUInt16BE(at + 2),
    question: Buffer.from(msg.subarray(12, at + 4)),
  };
}

function rdataFor(records: DnsRecords, type: number): Buffer[] {
  if (type === TYPE_A) return (records.A ?? []).map((a) => Buffer.from(a.split(".").map(Number)));
  if (type === TYPE_AAAA) return (records.AAAA ?? []).map(ipv6Bytes);
  if (type === TYPE_SRV) {
    return (records.SRV ?? []).map((s) => {
      const fixed = Buffer.alloc(6);
      fixed.writeUInt16BE(s.priority, 0);
      fixed.writeUInt16BE(s.weight, 2);
      fixed.writeUInt16BE(s.port, 4);
      return Buffer.concat([fixed, encodeName(s.target)]);
    });
  }
  return [];
}

/** Lower case, without the trailing dot: the key of the zone map. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** A name as uncompressed wire labels, ending with the root label. */
function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, "");
  const parts: Buffer[] = [];
  for (const label of trimmed === "" ? [] : trimmed.split(".")) {
    const bytes = Buffer.from(label, "latin1");
    if (bytes.length === 0 || bytes.length > 63) throw new RangeError(`bad DNS label in "${name}"`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new RangeError(`DNS name too long: ${name}`);
  return out;
}

/** The 16 bytes of an IPv6 address in text form: `::` compression and an IPv4 tail included. */
function ipv6Bytes(text: string): Buffer {
  if (!isIPv6(text)) throw new TypeError(`not an IPv6 address: ${text}`);
  let groups = text.split("%")[0]!; // a zone id does not go on the wire
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split(".").map(Number) as [number, number, number, number];
    groups = `${groups.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = groups.split("::") as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  const all = [...left, ...zeros, ...right];
  const out = Buffer.alloc(16);
  for (const [i, g] of all.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}
