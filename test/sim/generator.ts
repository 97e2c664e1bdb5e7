/**
 * What a simulated history is made of, and fast-check's generator of them: a fleet with its
 * settings, then steps — calls (every command the client sends through the cluster), faults of
 * servers and of the network, and list changes — each after a gap of virtual time. A seed gives
 * the same history every time.
 *
 * Keys are of two kinds: text keys (`k<i>`, the first `keys`) take sets, adds, replaces, cas,
 * appends and prepends; counter keys (`n<i>`, the next `counters`) take incr (even ones) or decr
 * (odd ones) only, so that each counter moves one way (see `checker.ts`). Both take set, delete,
 * touch and every read.
 */
import fc from "fast-check";

export interface Settings {
  weights: number[];
  replicas: number;
  hedge: boolean;
  warmUp: boolean;
  timeout: number;
  failureThreshold: number;
  retryDelay: number;
  /** Text keys. */
  keys: number;
  /** Counter keys, after the text keys (absent: none). */
  counters?: number;
  /** Bytes each server holds before it evicts (absent or 0: no cap). */
  memory?: number;
  /**
   * The fleet comes from one `dns+` entry (absent or null: a plain list): its servers are the A
   * records (even ones) and AAAA records (odd ones), asked again every `refresh` ms; a list change
   * changes the records. `loseFirst`: the first query of each family goes unanswered.
   */
  dns?: { refresh: number; loseFirst: boolean } | null;
  /**
   * The fleet comes from an ElastiCache-style configuration endpoint (absent or null: not; it takes
   * the place of `dns`), asked every `interval` ms; a list change is a new configuration version.
   */
  discovery?: { interval: number } | null;
  /**
   * Servers listed by host name (absent or null: by address; only with neither `dns` nor
   * `discovery`), each looked up again every `refresh` ms: a node replaced gets a new address.
   * `srv`: the host names come from the SRV records of one `dnssrv+` entry, asked again as often; a
   * list change changes the records.
   */
  names?: { refresh: number; srv?: boolean } | null;
  /**
   * Connections per server (absent or null: the defaults, one used until far more are in flight
   * than happen here): up to `max`, a second one leased once `maxInFlight / 2` wait on the first,
   * and handed back to generic-pool after `idle` ms unused.
   */
  pool?: { max: number; maxInFlight: number; idle: number } | null;
}

/** Writes of a whole value (a counter key gets a counter's digits). */
export type StoreOp = "set" | "add" | "replace" | "cas";

export type Step =
  | { op: StoreOp | "append" | "prepend"; key: number; ttl?: number; gap: number }
  | { op: "get" | "gets" | "delete"; key: number; gap: number }
  | { op: "gat" | "touch"; key: number; ttl: number; gap: number }
  | { op: "incr" | "decr"; key: number; delta: number; initial: boolean; ttl?: number; gap: number }
  | { op: "getMany" | "setMany"; keys: number[]; gap: number }
  | { op: "kill" | "restart" | "pause" | "resume" | "partition" | "heal"; server: number; gap: number }
  | { op: "slow"; server: number; delay: number; gap: number }
  /** The server's next reply is cut after `share` percent of its bytes, its connection reset. */
  | { op: "cut"; server: number; share: number; gap: number }
  /** The next reply on one connection to the server (the `conn`-th open one) is `delay` ms late. */
  | { op: "lag"; server: number; conn: number; delay: number; gap: number }
  | { op: "list"; keep: boolean[]; weights: number[]; gap: number }
  /** From now on, DNS queries of a family (or both) fail that way (`none`: answered). */
  | { op: "dns"; fail: "none" | "v4" | "v6" | "both"; how: "servfail" | "timeout"; gap: number }
  /** The host name of the server now names a new, empty server; the old one keeps running. */
  | { op: "swapNode"; server: number; gap: number }
  /** From now on, the configuration endpoint answers that way (see `fleet.ts`). */
  | { op: "endpoint"; how: EndpointMode; gap: number };

/** How the configuration endpoint answers: as it should, refusing, silent, malformed, or an older version. */
export type EndpointMode = "up" | "down" | "hang" | "malformed" | "older";

export interface History {
  settings: Settings;
  steps: Step[];
}

/** Whether counter key `key` counts up (incr) — else down (decr). */
export function countsUp(s: Settings, key: number): boolean {
  return (key - s.keys) % 2 === 0;
}

export function isCounter(s: Settings, key: number): boolean {
  return key >= s.keys;
}

const gap = fc.integer({ min: 0, max: 120 });
/** Mostly no TTL; sometimes one that runs out within a history. */
const ttl = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
);

export function historyArbitrary(o: { maxServers?: number; maxSteps?: number } = {}): fc.Arbitrary<History> {
  const maxServers = o.maxServers ?? 6;
  return fc
    .record({
      weights: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: maxServers }),
      replicas: fc.integer({ min: 1, max: 3 }),
      hedge: fc.boolean(),
      warmUp: fc.boolean(),
      timeout: fc.integer({ min: 50, max: 300 }),
      failureThreshold: fc.integer({ min: 1, max: 3 }),
      retryDelay: fc.integer({ min: 20, max: 400 }),
      keys: fc.integer({ min: 1, max: 5 }),
      counters: fc.integer({ min: 0, max: 2 }),
      // A cap of a few items: each is its key, its value and a header.
      memory: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 80, max: 400 }) },
      ),
      dns: fc.oneof(
        { weight: 4, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.record({ refresh: fc.integer({ min: 100, max: 700 }), loseFirst: fc.boolean() }),
        },
      ),
      discovery: fc.oneof(
        { weight: 4, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.record({ interval: fc.integer({ min: 100, max: 700 }) }) },
      ),
      names: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.record({ refresh: fc.integer({ min: 50, max: 500 }), srv: fc.boolean() }),
        },
      ),
      pool: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.record({
            max: fc.integer({ min: 2, max: 3 }),
            maxInFlight: fc.integer({ min: 1, max: 4 }),
            idle: fc.integer({ min: 100, max: 2000 }),
          }),
        },
      ),
    })
    .map((s) =>
      s.discovery !== null ? { ...s, dns: null, names: null } : s.dns !== null ? { ...s, names: null } : s,
    )
    .chain((settings) =>
      fc.record({ settings: fc.constant(settings), steps: stepsOf(settings, o.maxSteps ?? 40) }),
    );
}

function stepsOf(settings: Settings, maxSteps: number): fc.Arbitrary<Step[]> {
  const n = settings.weights.length;
  const counters = settings.counters ?? 0;
  const text = fc.integer({ min: 0, max: settings.keys - 1 });
  const any = fc.integer({ min: 0, max: settings.keys + counters - 1 });
  const server = fc.integer({ min: 0, max: n - 1 });
  const choices: fc.WeightedArbitrary<Step>[] = [
    { weight: 4, arbitrary: fc.record({ op: fc.constantFrom("get", "gets", "delete"), key: any, gap }) },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constantFrom("set", "add", "replace", "cas"), key: any, ttl, gap }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constantFrom("append", "prepend"), key: text, ttl, gap }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom("gat", "touch"), key: any, ttl, gap }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constantFrom("getMany", "setMany"),
        keys: fc.uniqueArray(any, { minLength: 1, maxLength: 4 }),
        gap,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constantFrom("kill", "restart", "pause", "resume", "partition", "heal"),
        server,
        gap,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.record({ op: fc.constant("slow"), server, delay: fc.integer({ min: 0, max: 400 }), gap }),
        fc.record({ op: fc.constant("cut"), server, share: fc.integer({ min: 0, max: 99 }), gap }),
        fc.record({
          op: fc.constant("lag"),
          server,
          conn: fc.integer({ min: 0, max: 3 }),
          delay: fc.integer({ min: 1, max: 400 }),
          gap,
        }),
      ) as fc.Arbitrary<Step>,
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant("list"),
        keep: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        weights: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: n, maxLength: n }),
        gap,
      }),
    },
  ];
  if (settings.names != null)
    choices.push({ weight: 1, arbitrary: fc.record({ op: fc.constant("swapNode" as const), server, gap }) });
  if (settings.dns != null || settings.names != null) {
    choices.push({
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant("dns" as const),
        fail: fc.constantFrom("none" as const, "v4" as const, "v6" as const, "both" as const),
        how: fc.constantFrom("servfail" as const, "timeout" as const),
        gap,
      }),
    });
  }
  if (settings.discovery != null) {
    choices.push({
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant("endpoint" as const),
        how: fc.constantFrom<EndpointMode>("up", "down", "hang", "malformed", "older"),
        gap,
      }),
    });
  }
  if (counters > 0) {
    const counter = fc.integer({ min: settings.keys, max: settings.keys + counters - 1 });
    choices.push({
      weight: 3,
      arbitrary: fc
        .record({ key: counter, delta: fc.integer({ min: 1, max: 9 }), initial: fc.boolean(), ttl, gap })
        .map((c) => ({ op: countsUp(settings, c.key) ? ("incr" as const) : ("decr" as const), ...c })),
    });
  }
  return fc.array(fc.oneof(...choices), { minLength: 1, maxLength: maxSteps });
}
