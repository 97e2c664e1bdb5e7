/**
 * One simulated history: a fleet with its settings, a client on the simulated network, and a
 * sequence of calls and events (faults, list changes) run in virtual time. Checked as a database's
 * history is: one writer per key (its writes run one after another), so "the last write
 * acknowledged before a read began" is defined; every read returns a miss or a value at least that
 * new, and never another key's; every call settles by its deadline; nothing is pending after close.
 */
import fc from "fast-check";
import { Client, type ClientOptions } from "../../src/index.ts";
import { TRANSPORT } from "../../src/connection/transport.ts";
import { TICK_MS } from "../../src/util/ticker.ts";
import type { VirtualClock } from "./clock.ts";
import { SimNetwork } from "./sim-network.ts";

export interface Settings {
  weights: number[];
  replicas: number;
  hedge: boolean;
  warmUp: boolean;
  timeout: number;
  failureThreshold: number;
  retryDelay: number;
  keys: number;
}

export type Step =
  | { op: "set" | "get" | "delete"; key: number; gap: number }
  | { op: "getMany" | "setMany"; keys: number[]; gap: number }
  | { op: "kill" | "restart" | "pause" | "resume"; server: number; gap: number }
  | { op: "slow"; server: number; delay: number; gap: number }
  | { op: "list"; keep: boolean[]; weights: number[]; gap: number };

export interface History {
  settings: Settings;
  steps: Step[];
}

const gap = fc.integer({ min: 0, max: 120 });

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
      keys: fc.integer({ min: 1, max: 8 }),
    })
    .chain((settings) => {
      const n = settings.weights.length;
      const key = fc.integer({ min: 0, max: settings.keys - 1 });
      const server = fc.integer({ min: 0, max: n - 1 });
      const step: fc.Arbitrary<Step> = fc.oneof(
        { weight: 6, arbitrary: fc.record({ op: fc.constantFrom("set", "get", "delete"), key, gap }) },
        {
          weight: 2,
          arbitrary: fc.record({
            op: fc.constantFrom("getMany", "setMany"),
            keys: fc.uniqueArray(key, { minLength: 1, maxLength: 4 }),
            gap,
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ op: fc.constantFrom("kill", "restart", "pause", "resume"), server, gap }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            op: fc.constant("slow"),
            server,
            delay: fc.integer({ min: 0, max: 400 }),
            gap,
          }),
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
      );
      return fc.record({
        settings: fc.constant(settings),
        steps: fc.array(step as fc.Arbitrary<Step>, { minLength: 1, maxLength: o.maxSteps ?? 40 }),
      });
    });
}

interface Write {
  seq: number;
  ackedAt: number;
}

/** Runs `h` on `clock` (installed) and returns what it broke (empty: nothing). */
export async function runHistory(h: History, clock: VirtualClock, seed: number): Promise<string[]> {
  clock.seed(seed);
  const s = h.settings;
  const net = new SimNetwork(() => clock.now);
  const base = s.weights.map((weight, i) => ({ host: "127.0.0.1", port: 21000 + i, weight }));
  const broken: string[] = [];
  const options: ClientOptions = {
    servers: base,
    timeout: s.timeout,
    connectTimeout: s.timeout,
    replicas: s.replicas,
    failover: {
      failureThreshold: s.failureThreshold,
      retryDelay: s.retryDelay,
      maxRetryDelay: s.retryDelay * 4,
    },
    ...(s.hedge ? { hedge: { after: 5, maxExtraLoad: 0.5 } } : {}),
    ...(s.warmUp ? { warmUp: { window: 2000 } } : {}),
  };
  const mc = new Client({ ...options, [TRANSPORT]: net.transport } as ClientOptions);
  mc.on("topologyError", () => undefined);
  const calls: Promise<unknown>[] = [];
  const acked: (Write | null)[] = Array.from({ length: s.keys }, () => null);
  const chains: Promise<unknown>[] = Array.from({ length: s.keys }, () => Promise.resolve());
  let seq = 0;
  const labelOf = (i: number) => `127.0.0.1:${21000 + i}`;

  const lastAckedBefore = (key: number, t: number) => {
    const w = acked[key];
    return w != null && w.ackedAt < t ? w.seq : -1;
  };
  const checkRead = (key: number, value: unknown, started: number, floor: number) => {
    if (value === undefined) return;
    const [k, n] = String(value).split(":");
    if (k !== `k${key}`) broken.push(`read of k${key} returned another key's value ${String(value)}`);
    else if (Number(n) < floor)
      broken.push(
        `stale read of k${key} at ${started.toFixed(1)} ms: ${String(value)}, written before write #${floor}`,
      );
  };
  const timed = <T>(what: string, p: Promise<T>, timeout: number): Promise<T | undefined> => {
    const started = clock.now;
    const out = p.then(
      (v) => v,
      () => undefined,
    );
    calls.push(
      out.then(() => {
        const late = clock.now - started - timeout;
        if (late > TICK_MS + 1) broken.push(`${what} settled ${late.toFixed(1)} ms past its deadline`);
      }),
    );
    return out;
  };
  /** A write of `key` after the previous one of that key settles (one writer per key). */
  let writing = 0;
  const write = (key: number, run: (value: string) => Promise<unknown>, deletes: boolean) => {
    writing++;
    chains[key] = chains[key]!.then(async () => {
      const n = ++seq;
      const ok = await timed(`write k${key}`, run(deletes ? "" : `k${key}:${n}`), s.timeout);
      if (ok !== undefined && ok !== false) acked[key] = { seq: n, ackedAt: clock.now };
      else if (ok === false && deletes) acked[key] = { seq: n, ackedAt: clock.now }; // not found: absent
      writing--;
    });
  };

  for (const step of h.steps) {
    await clock.advance(step.gap);
    switch (step.op) {
      case "set":
        write(step.key, (v) => mc.set(`k${step.key}`, v), false);
        break;
      case "delete":
        write(step.key, () => mc.delete(`k${step.key}`), true);
        break;
      case "setMany":
        // One writer per key: a batch write is modelled as each key's write, chained per key.
        for (const key of step.keys) write(key, (v) => mc.setMany([[`k${key}`, v]]).then((r) => r[0]), false);
        break;
      case "get": {
        const started = clock.now;
        const floor = lastAckedBefore(step.key, started);
        void timed(`get k${step.key}`, mc.get(`k${step.key}`), s.timeout).then((v) =>
          checkRead(step.key, v, started, floor),
        );
        break;
      }
      case "getMany": {
        const started = clock.now;
        const floors = step.keys.map((k) => lastAckedBefore(k, started));
        void timed("getMany", mc.getMany(step.keys.map((k) => `k${k}`)), s.timeout).then((m) => {
          if (m === undefined) return;
          step.keys.forEach((k, i) => {
            checkRead(k, m.get(`k${k}`), started, floors[i]!);
          });
        });
        break;
      }
      case "kill":
        net.kill(labelOf(step.server));
        break;
      case "restart":
        if (!net.server(labelOf(step.server)).alive) net.restart(labelOf(step.server));
        break;
      case "pause":
        net.pause(labelOf(step.server));
        break;
      case "resume":
        net.resume(labelOf(step.server));
        break;
      case "slow":
        net.server(labelOf(step.server)).delay = step.delay;
        break;
      case "list": {
        const list = base.map((a, i) => ({ ...a, weight: step.weights[i]! })).filter((_, i) => step.keep[i]);
        if (list.length > 0) calls.push(mc.setServers(list).catch(() => undefined));
        break;
      }
    }
  }
  // Everything comes back; then a last read of every key.
  for (let i = 0; i < s.weights.length; i++) {
    const label = labelOf(i);
    if (!net.server(label).alive) net.restart(label);
    net.resume(label);
    net.server(label).delay = 0;
  }
  await clock.advance(s.retryDelay * 8 + 2000);
  for (let i = 0; i < 100 && writing > 0; i++) await clock.advance(50);
  if (writing > 0) broken.push(`${writing} writes still pending long after their deadlines`);
  for (let key = 0; key < s.keys; key++) {
    const started = clock.now;
    const floor = lastAckedBefore(key, started);
    void timed(`final get k${key}`, mc.get(`k${key}`), s.timeout).then((v) =>
      checkRead(key, v, started, floor),
    );
  }
  let closed = false;
  const closing = mc.close().then(() => {
    closed = true;
  });
  for (let i = 0; i < 200 && !closed; i++) await clock.advance(50);
  await clock.advance(100);
  let settled = 0;
  for (const c of calls) void c.then(() => settled++);
  await clock.advance(1);
  if (!closed) broken.push("close() did not resolve within 10 s of virtual time");
  if (settled !== calls.length) broken.push(`${calls.length - settled} calls still pending after close`);
  if (net.openSockets !== 0) broken.push(`${net.openSockets} sockets still open after close`);
  await closing.catch(() => undefined);
  return broken;
}
