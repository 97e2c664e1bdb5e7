/**
 * A Frame: what goes on the wire for one command, and nothing else — no promise, no deadline, no
 * routing. The client layer builds it once per call; every attempt of that call (a retry, a
 * failover, a copy to another replica) is encoded from the same Frame, so a Frame is not changed
 * once built (a server that needs a variant, e.g. a gutter's capped TTL, gets a copy).
 */

/** Command kinds the encoders know. */
export enum Op {
  Get = 0, // mg <key> v f
  Gets = 1, // mg <key> v f c
  Touch = 2, // mg <key> T<ttl>
  GetAndTouch = 3, // mg <key> v f T<ttl>
  Store = 4, // ms <key> <len> F T M C
  Delete = 5, // md <key>
  Arith = 6, // ma <key> D M N J T v
  GetMany = 7, // mg <key> v f q … mn
  StoreMany = 8, // ms <key> <len> … q … mn
  DeleteMany = 9, // md <key> q … mn
  Stats = 10, // stats [group]
  Version = 11, // version
  Flush = 12, // flush_all [delay]
  Noop = 13, // mn
  Fetch = 14, // mg <key> v f c t N<lockTtl> [R<recache>]
  Invalidate = 15, // md <key> I T<staleTtl>
  /** Authentication: meta → ASCII auth (`set` with `user pass`); binary → SASL PLAIN auth. `value` = payload. */
  Auth = 16,
  /** Binary only: SASL list mechanisms. */
  AuthMechs = 17,
  /** A warm-up read of a key's previous owner: `mg <key> v f t` (the remaining TTL for the copy). */
  WarmRead = 18,
}

/** `ms` mode letters (char codes) as the client sets them in {@link Frame.mode}; 0 = set. */
export const MODE_ADD = 0x45; // E
export const MODE_APPEND = 0x41; // A
export const MODE_PREPEND = 0x50; // P
export const MODE_REPLACE = 0x52; // R
/** `ma` mode letter for a decrement; 0 = increment. */
export const MODE_DECR = 0x44; // D

/** The per-key wire fields of a batch (GetMany, StoreMany, DeleteMany). */
export class Batch {
  /** Key tokens as sent. */
  readonly keys: string[];
  /** Per-key base64 marks, or null when no key needs base64. */
  readonly keysBase64: boolean[] | null;
  /** StoreMany: encoded values, their byte lengths and client flags. */
  values: (string | Buffer)[] | null = null;
  valueLengths: number[] | null = null;
  valueFlags: number[] | null = null;

  constructor(keys: string[], keysBase64: boolean[] | null) {
    this.keys = keys;
    this.keysBase64 = keysBase64;
  }

  /** The batch of the keys at `indices` (a server's share of a multi-key call). */
  subset(indices: readonly number[]): Batch {
    const b = new Batch(
      indices.map((i) => this.keys[i]!),
      this.keysBase64 === null ? null : indices.map((i) => this.keysBase64![i]!),
    );
    if (this.values !== null) {
      b.values = indices.map((i) => this.values![i]!);
      b.valueLengths = indices.map((i) => this.valueLengths![i]!);
      b.valueFlags = indices.map((i) => this.valueFlags![i]!);
    }
    return b;
  }
}

/** A frame's rarer fields, at their defaults until set (see {@link Frame.extra}). */
export class Extra {
  mode = 0;
  cas: bigint | null = null;
  delta = 0n;
  initial: bigint | null = null;
  recache = -1;
  arg = "";
}

/** The wire fields of one command. Public fields, read by the encoders. */
export class Frame {
  key = "";
  /** The key token is base64 (send the `b` flag). */
  base64 = false;
  /** Encoded value: UTF-8 string or bytes. */
  value: string | Buffer | null = null;
  /** Byte length of `value`. */
  valueLength = 0;
  /** Client flags (u32) stored with the value. */
  clientFlags = 0;
  /** TTL in memcached's form (seconds, or absolute Unix time past 30 days); -1 = not sent. */
  ttl = -1;
  /**
   * The rarer fields, or null while all are at their defaults: a get or a plain set does not
   * allocate them. Read and written through the accessors (`mode`, `cas`, `delta`, `initial`,
   * `recache`, `arg`).
   */
  extra: Extra | null = null;
  /** Keys (and values) of a batch command, else null. */
  batch: Batch | null = null;

  constructor(readonly op: Op) {}

  /** `ms` mode letter (char code) or `ma` mode letter; 0 = default. */
  get mode(): number {
    return this.extra === null ? 0 : this.extra.mode;
  }
  set mode(v: number) {
    if (this.extra !== null || v !== 0) this.#extra().mode = v;
  }
  /** CAS to compare (`C<cas>`), or null. */
  get cas(): bigint | null {
    return this.extra === null ? null : this.extra.cas;
  }
  set cas(v: bigint | null) {
    if (this.extra !== null || v !== null) this.#extra().cas = v;
  }
  /** `ma` delta. */
  get delta(): bigint {
    return this.extra === null ? 0n : this.extra.delta;
  }
  set delta(v: bigint) {
    if (this.extra !== null || v !== 0n) this.#extra().delta = v;
  }
  /** `ma` initial value for auto-vivify (`N` + `J`), or null. */
  get initial(): bigint | null {
    return this.extra === null ? null : this.extra.initial;
  }
  set initial(v: bigint | null) {
    if (this.extra !== null || v !== null) this.#extra().initial = v;
  }
  /** Fetch: `R<recache>` (recache when the remaining TTL is below it), -1 = not sent. */
  get recache(): number {
    return this.extra === null ? -1 : this.extra.recache;
  }
  set recache(v: number) {
    if (this.extra !== null || v !== -1) this.#extra().recache = v;
  }
  /** Extra text argument (stats group, flush delay). */
  get arg(): string {
    return this.extra === null ? "" : this.extra.arg;
  }
  set arg(v: string) {
    if (this.extra !== null || v !== "") this.#extra().arg = v;
  }

  #extra(): Extra {
    if (this.extra === null) this.extra = new Extra();
    return this.extra;
  }

  /** A copy (same wire fields) that can then be changed, e.g. a TTL capped for one server. */
  copy(op: Op = this.op): Frame {
    const c = new Frame(op);
    c.key = this.key;
    c.base64 = this.base64;
    c.value = this.value;
    c.valueLength = this.valueLength;
    c.clientFlags = this.clientFlags;
    c.ttl = this.ttl;
    c.batch = this.batch;
    if (this.extra !== null) {
      c.mode = this.mode;
      c.cas = this.cas;
      c.delta = this.delta;
      c.initial = this.initial;
      c.recache = this.recache;
      c.arg = this.arg;
    }
    return c;
  }

  /** The frame of the keys at `indices` of a batch frame (a server's share of a multi-key call). */
  part(indices: readonly number[]): Frame {
    const part = this.copy();
    part.batch = this.batch!.subset(indices);
    return part;
  }

  /** Keys in the frame: the batch's size, 1 for a keyed command, 0 for server commands. */
  get keyCount(): number {
    return this.batch !== null ? this.batch.keys.length : this.key === "" ? 0 : 1;
  }
}

const STORE_NAMES: Record<number, string> = {
  [MODE_ADD]: "add",
  [MODE_REPLACE]: "replace",
  [MODE_APPEND]: "append",
  [MODE_PREPEND]: "prepend",
};

const OP_NAMES: Record<Op, string> = {
  [Op.Get]: "get",
  [Op.Gets]: "gets",
  [Op.Touch]: "touch",
  [Op.GetAndTouch]: "gat",
  [Op.Store]: "set",
  [Op.Delete]: "delete",
  [Op.Arith]: "incr",
  [Op.GetMany]: "getMany",
  [Op.StoreMany]: "setMany",
  [Op.DeleteMany]: "deleteMany",
  [Op.Stats]: "stats",
  [Op.Version]: "version",
  [Op.Flush]: "flush",
  [Op.Noop]: "noop",
  [Op.Fetch]: "fetch",
  [Op.Invalidate]: "invalidate",
  [Op.Auth]: "auth",
  [Op.AuthMechs]: "auth",
  [Op.WarmRead]: "get",
};

/**
 * One key's identity as sent, for the client's own bookkeeping (L1, repairs, copies): its token, and
 * whether that token is base64 (a plain token never holds a space, so the two cannot collide).
 */
export function keyId(token: string, base64: boolean): string {
  return base64 ? `${token} b` : token;
}

/** The command's name in traces, metrics and messages (`set`, `cas`, `add`, `decr`, `getMany`, …). */
export function commandName(frame: Frame): string {
  if (frame.op === Op.Store) {
    if (frame.cas !== null) return "cas";
    return STORE_NAMES[frame.mode] ?? "set";
  }
  if (frame.op === Op.Arith && frame.mode === MODE_DECR) return "decr";
  return OP_NAMES[frame.op];
}
