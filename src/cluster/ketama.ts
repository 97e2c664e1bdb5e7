/**
 * Consistent hashing that places keys exactly as libmemcached does with
 * `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED` (the libketama-compatible mode of PHP memcached, pylibmc,
 * twemproxy `ketama`/`md5`, node `memcached`). Pure: no I/O, no timers.
 *
 * The algorithm, as pinned by the golden vectors in `fixtures/ketama-*.json`:
 *
 *   1. labels   "<host>-<i>" when the port is 11211, else "<host>:<port>-<i>" (host as configured)
 *   2. points   pct = f32(weight / total); points = floor(f32(f32(f32(f32(pct*160)/4)*live) + f32(1e-10))) * 4
 *               — C float arithmetic, emulated step by step with Math.fround
 *   3. values   md5(label) gives four points: little-endian u32 of bytes 0-3, 4-7, 8-11, 12-15
 *   4. order    ascending by value, ties by server order in the configuration
 *   5. key      md5(UTF-8 key bytes, without the client's keyPrefix), first 4 bytes little-endian
 *   6. lookup   first point ≥ hash, wrapping past the end to the first point (libmemcached searches
 *               by bisection; here a bucket table on the hash's top bits finds the point in a step or
 *               two, with the same result)
 *
 *        0 ─────●────●──────────●─────●────────●──── 2^32-1
 *               s1   s0   ▲     s1    s2       s0
 *                         └ hash(key) → next point clockwise → s1
 */
import { InvalidArgumentError, NoServersError } from "../errors.js";
import { md5Words } from "./md5.js";
import { type Points, sortPoints } from "./point-sort.js";
import { DEFAULT_PORT, labelOf, parseServers, type ServerAddress, type ServerSpec } from "../util/servers.js";

const POINTS_PER_SERVER = 160;
const POINTS_PER_HASH = 4;

/** The 32-bit ketama hash of a key (its UTF-8 bytes): the first 4 bytes of its MD5, little-endian. */
export function ketamaHash(key: string | Buffer): number {
  return md5Words(key)[0]! >>> 0;
}

/**
 * A ketama continuum over a set of servers. `serverFor(key)` gives the `"host:port"` label of the
 * key's owner; `serversFor(key, n)` the first `n` distinct servers clockwise (replica order).
 * Membership changes (`add`, `remove`) rebuild the continuum with the same formula, so only the keys
 * of the server added or removed move.
 */
export class HashRing {
  #servers: ServerAddress[] = [];
  #labels: string[] = [];
  /** Point values, ascending. */
  #points = new Uint32Array(0);
  /** Server index of each point. */
  #owners = new Uint16Array(0);
  /**
   * Bucket table: `#index[b]` is the first point whose top `#bits` bits are ≥ b, and
   * `#index[2^#bits]` the number of points. A lookup scans only its bucket (about one point).
   */
  #index = new Uint32Array(2);
  #bits = 0;
  /** Zone of each server, as an index into the distinct zones (servers without one share a zone). */
  #zoneOf = new Uint16Array(0);
  #zones = 1;
  /** Zones that have points on this ring (fewer than `#zones` when skipped servers took a whole zone). */
  #zonesOnRing = 1;

  /**
   * A ring over `servers`: entries as in the client's `servers` option, except `dns+` and `dnssrv+`
   * ones. Empty when none is given.
   */
  constructor(servers: ServerSpec[] | string = []) {
    const list = typeof servers === "string" || servers.length > 0 ? parseServers(servers) : [];
    for (const s of list) this.#insert(s);
    this.#build();
  }

  /**
   * A ring over addresses already parsed (as the membership holds them).
   * @internal
   */
  static of(addresses: readonly ServerAddress[]): HashRing {
    const ring = new HashRing();
    for (const a of addresses) ring.#insert(a);
    ring.#build();
    return ring;
  }

  /**
   * {@link HashRing.of} a step at a time: each `next()` hashes the points of `serversPerStep` more
   * servers, then each makes one pass of the sort; the last returns the ring. A list of a thousand
   * servers is then built over several turns of the event loop, not in one long one.
   * @internal
   */
  static *inSteps(addresses: readonly ServerAddress[], serversPerStep: number): Generator<void, HashRing> {
    const ring = new HashRing();
    for (const a of addresses) ring.#insert(a);
    yield* ring.#buildSteps(serversPerStep);
    return ring;
  }

  /** Labels of the servers on the ring, in configuration order. */
  get servers(): readonly string[] {
    return this.#labels;
  }

  /** Number of points on the continuum. */
  get size(): number {
    return this.#points.length;
  }

  /** The continuum as `[value, serverLabel]` pairs, ascending (for inspection and tests). */
  continuum(): Array<[number, string]> {
    return Array.from(this.#points, (v, i) => [v, this.#labels[this.#owners[i]!]!]);
  }

  /** Label of the server that owns `key`; `NoServersError` when the ring is empty. */
  serverFor(key: string | Buffer): string {
    const n = this.#points.length;
    if (n === 0) throw new NoServersError("the ring has no servers");
    if (this.#labels.length === 1) return this.#labels[0]!;
    return this.#labels[this.#owners[this.#find(ketamaHash(key))]!]!;
  }

  /**
   * The owner of `key` as an index into {@link HashRing.servers} (−1 when the ring is empty): what
   * {@link HashRing.serverFor} returns, without going through the label.
   * @internal The membership uses it to map keys to its server objects.
   */
  ownerIndex(key: string | Buffer): number {
    if (this.#labels.length <= 1) return this.#labels.length - 1;
    return this.ownerIndexOfHash(ketamaHash(key));
  }

  /**
   * {@link HashRing.ownerIndex} of the key whose {@link ketamaHash} is `hash` (−1 when the ring has
   * no point).
   * @internal
   */
  ownerIndexOfHash(hash: number): number {
    if (this.#points.length === 0) return -1;
    return this.#owners[this.#find(hash)]!;
  }

  /**
   * The first server clockwise from `hash` that `skip` does not name, as an index into
   * {@link HashRing.servers} (−1 when it names them all): `without(skip).ownerIndexOfHash(hash)`,
   * found by stepping over the skipped servers' points instead of building that ring.
   * @internal
   */
  ownerIndexOfHashSkipping(hash: number, skip: (index: number) => boolean): number {
    const n = this.#points.length;
    for (let i = n === 0 ? 0 : this.#find(hash), step = 0; step < n; step++) {
      const owner = this.#owners[i]!;
      if (!skip(owner)) return owner;
      i = i + 1 === n ? 0 : i + 1;
    }
    return -1;
  }

  /**
   * This ring less the points of the servers `skip` names (by index into {@link HashRing.servers}),
   * in one pass over the continuum: no hashing, no sorting. A key then goes to the first point
   * clockwise whose server is not skipped — its next replica on this ring — and every other key
   * stays where it was. Server indexes are this ring's (skipped servers keep theirs, with no point).
   * @internal The membership routes around down servers with it.
   */
  without(skip: (index: number) => boolean): HashRing {
    const keep = new Uint8Array(this.#labels.length);
    for (let i = 0; i < keep.length; i++) keep[i] = skip(i) ? 0 : 1;
    const from = this.#owners;
    const values = this.#points;
    let n = 0;
    for (let i = 0; i < from.length; i++) n += keep[from[i]!]!;
    const points = new Uint32Array(n);
    const owners = new Uint16Array(n);
    for (let i = 0, k = 0; i < from.length; i++) {
      const owner = from[i]!;
      if (keep[owner] === 0) continue;
      points[k] = values[i]!;
      owners[k++] = owner;
    }
    const ring = new HashRing();
    ring.#servers = this.#servers;
    ring.#labels = this.#labels;
    ring.#zoneOf = this.#zoneOf;
    ring.#zones = this.#zones;
    const zonesKept = new Uint8Array(this.#zones);
    for (let i = 0; i < keep.length; i++) if (keep[i] === 1) zonesKept[this.#zoneOf[i]!] = 1;
    ring.#zonesOnRing = zonesKept.reduce((a, b) => a + b, 0);
    ring.#setContinuum(points, owners);
    return ring;
  }

  /** The first `n` distinct servers clockwise from `key`'s point: the owner first, then its replicas. */
  serversFor(key: string | Buffer, n: number): string[] {
    return this.serversForHash(ketamaHash(key), n);
  }

  /**
   * {@link HashRing.serversFor} of a key whose {@link ketamaHash} is `hash` (several rings, one hash).
   * With servers in several zones, the replicas after the owner come from zones not used yet while
   * there are any (as Cassandra places replicas on racks): the servers passed over for it follow,
   * in ring order, once every zone has one.
   * @internal
   */
  serversForHash(hash: number, n: number, skip?: (index: number) => boolean): string[] {
    const total = this.#labels.length;
    if (total === 0) throw new NoServersError("the ring has no servers");
    const want = Math.min(Math.max(1, Math.floor(n)), total);
    if (total === 1 && this.#points.length > 0) return [this.#labels[0]!];
    if (this.#zonesOnRing > 1 && want > 1) return this.#acrossZones(hash, want);
    const out: string[] = [];
    const seen = new Uint8Array(total);
    const points = this.#points.length;
    for (let i = this.#find(hash), step = 0; out.length < want && step < points; step++) {
      const owner = this.#owners[i]!;
      if (seen[owner] === 0) {
        seen[owner] = 1;
        // Skipped servers are stepped over as if their points were not there (see `without`).
        if (skip === undefined || !skip(owner)) out.push(this.#labels[owner]!);
      }
      i = i + 1 === points ? 0 : i + 1;
    }
    return out;
  }

  /** Whether several zones have points on this ring (placement then goes by zone). */
  get zoned(): boolean {
    return this.#zonesOnRing > 1;
  }

  /** The first `want` servers clockwise from `hash`, one per zone first (see `serversForHash`). */
  #acrossZones(hash: number, want: number): string[] {
    const out: string[] = [];
    const seen = new Uint8Array(this.#labels.length);
    const used = new Uint8Array(this.#zones);
    let zonesUsed = 0;
    const passed: number[] = [];
    const points = this.#points.length;
    for (let i = this.#find(hash), step = 0; out.length < want && step < points; step++) {
      const owner = this.#owners[i]!;
      i = i + 1 === points ? 0 : i + 1;
      if (seen[owner] === 1) continue;
      seen[owner] = 1;
      const zone = this.#zoneOf[owner]!;
      if (used[zone] === 0) {
        used[zone] = 1;
        zonesUsed++;
        out.push(this.#labels[owner]!);
        // Every zone has a copy: those passed over come next, in ring order.
        if (zonesUsed === this.#zonesOnRing) for (const p of passed.splice(0)) out.push(this.#labels[p]!);
      } else if (zonesUsed === this.#zonesOnRing) out.push(this.#labels[owner]!);
      else passed.push(owner);
    }
    for (const p of passed) out.push(this.#labels[p]!);
    return out.slice(0, want);
  }

  /** Adds a server (no-op if its label is already on the ring). */
  add(server: ServerSpec): void {
    const [address] = parseServers([server]);
    if (this.#labels.includes(labelOf(address!))) return;
    this.#insert(address!);
    this.#build();
  }

  /** Removes a server by label; returns false when it was not on the ring. */
  remove(label: string): boolean {
    const i = this.#labels.indexOf(label);
    if (i < 0) return false;
    this.#servers.splice(i, 1);
    this.#labels.splice(i, 1);
    this.#build();
    return true;
  }

  #insert(s: ServerAddress): void {
    if (this.#labels.length >= 0xffff) throw new InvalidArgumentError("too many servers for one ring");
    this.#servers.push(s);
    this.#labels.push(labelOf(s));
  }

  /** Index of the first point ≥ hash, wrapping to 0. */
  #find(hash: number): number {
    const p = this.#points;
    const b = this.#bits === 0 ? 0 : hash >>> (32 - this.#bits);
    let i = this.#index[b]!;
    const end = this.#index[b + 1]!;
    while (i < end && p[i]! < hash) i++;
    return i === p.length ? 0 : i;
  }

  #build(): void {
    const steps = this.#buildSteps(Number.POSITIVE_INFINITY);
    while (steps.next().done !== true);
  }

  /**
   * Builds the continuum, yielding after each `serversPerStep` servers hashed and, when that made
   * more than one step, before each pass of the sort (`point-sort.ts`).
   */
  *#buildSteps(serversPerStep: number): Generator<void, void> {
    const servers = this.#servers;
    const zoneIds = new Map<string, number>();
    this.#zoneOf = Uint16Array.from(servers, (s) => {
      const zone = s.zone ?? "";
      if (!zoneIds.has(zone)) zoneIds.set(zone, zoneIds.size);
      return zoneIds.get(zone)!;
    });
    this.#zones = Math.max(1, zoneIds.size);
    this.#zonesOnRing = this.#zones;
    const live = servers.length;
    let total = 0;
    for (const s of servers) total += s.weight;
    const counts = servers.map((s) => pointsFor(s.weight, total, live));
    const n = counts.reduce((a, b) => a + b, 0);
    const made: Points = { values: new Uint32Array(n), owners: new Uint16Array(n) };
    let k = 0;
    for (let idx = 0; idx < servers.length; idx++) {
      if (idx > 0 && idx % serversPerStep === 0) yield;
      const s = servers[idx]!;
      const prefix = s.port === DEFAULT_PORT ? s.host : `${s.host}:${s.port}`;
      for (let i = 0; i < counts[idx]! / POINTS_PER_HASH; i++) {
        const d = md5Words(`${prefix}-${i}`);
        for (let j = 0; j < POINTS_PER_HASH; j++) {
          made.values[k] = d[j]! >>> 0;
          made.owners[k++] = idx;
        }
      }
    }
    const sorted = yield* sortPoints(made, servers.length > serversPerStep);
    this.#setContinuum(sorted.values, sorted.owners);
  }

  /** Takes `points` (ascending) and their `owners` as the continuum, and indexes it. */
  #setContinuum(points: Uint32Array<ArrayBuffer>, owners: Uint16Array<ArrayBuffer>): void {
    this.#points = points;
    this.#owners = owners;
    const n = points.length;
    // About one point per bucket: 2^8 to 2^16 buckets.
    const bits = n === 0 ? 0 : Math.min(16, Math.max(8, Math.ceil(Math.log2(n))));
    const buckets = 2 ** bits;
    const index = new Uint32Array(buckets + 1);
    const shift = 32 - bits;
    // Each point raises the start of the buckets after its own; one pass over the points.
    for (let i = 0, b = 0; i < n; i++) {
      const bucket = points[i]! >>> shift;
      while (b <= bucket) index[b++] = i;
    }
    index.fill(n, n === 0 ? 0 : (points[n - 1]! >>> shift) + 1);
    this.#index = index;
    this.#bits = bits;
  }
}

/** Points of one server, in C float arithmetic (see the module comment). */
function pointsFor(weight: number, total: number, live: number): number {
  const f = Math.fround;
  const pct = f(weight / total);
  return (
    Math.floor(f(f(f(f(pct * POINTS_PER_SERVER) / POINTS_PER_HASH) * live) + f(1e-10))) * POINTS_PER_HASH
  );
}
