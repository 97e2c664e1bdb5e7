/**
 * Runs one simulated history (see `generator.ts`): a fleet with its settings, a client on the
 * simulated network, and the steps — calls, faults, list changes — in virtual time; then every
 * fault is lifted, every key read once more, and the client closed. Checked as a database's
 * history is (see `checker.ts`): no read older than the last acknowledged write, never another
 * key's value; and every call settles by its deadline, nothing is pending after close.
 */
import { TRANSPORT } from "../../src/connection/transport.ts";
import { Client, type ClientOptions } from "../../src/index.ts";
import { Calls } from "./calls.ts";
import { Checker } from "./checker.ts";
import type { VirtualClock } from "./clock.ts";
import type { History, Step } from "./generator.ts";
import { Fleet } from "./fleet.ts";
import { SimNetwork } from "./sim-network.ts";
import { count } from "./tally.ts";

export type { History, Settings, Step } from "./generator.ts";
export { historyArbitrary } from "./generator.ts";

/** How to run a history. */
export interface RunOptions {
  /** Where its trace goes (calls, steps, wire bytes), if anywhere. */
  print?: (line: string) => void;
  /** Known defects (by name, see `Calls`) whose findings are kept apart rather than failing it. */
  tolerate?: ReadonlySet<string>;
}

/** What a history broke (`broken` empty: nothing), and what known defects explain (`known`). */
export interface Verdict {
  broken: string[];
  known: string[];
}

/** Runs `h` on `clock` (installed) with `seed` for `Math.random`. */
export async function runHistory(
  h: History,
  clock: VirtualClock,
  seed: number,
  o: RunOptions = {},
): Promise<Verdict> {
  // Every history starts on a round virtual time, whatever ran before it in this process: the
  // same history replays exactly alone (`--replay`) and among others (`--seed --path`).
  await clock.advance(Math.ceil((clock.now + 1) / 10_000) * 10_000 - clock.now);
  clock.seed(seed);
  const origin = clock.now;
  const print = o.print;
  const trace =
    print === undefined
      ? null
      : (line: string) => print(`${(clock.now - origin).toFixed(2).padStart(8)}  ${line}`);
  const s = h.settings;
  const net = new SimNetwork(() => clock.now);
  net.trace = trace;
  const fleet = new Fleet(s, net);
  const labelOf = (i: number) => fleet.label(i);
  const options: ClientOptions = {
    ...fleet.options,
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
    ...(s.pool == null
      ? {}
      : {
          pool: { min: 1, max: s.pool.max, idleTimeoutMillis: s.pool.idle },
          maxInFlight: s.pool.maxInFlight,
        }),
  };
  const mc = new Client({ ...options, [TRANSPORT]: net.transport, ...fleet.injected } as ClientOptions);
  mc.on("topologyError", (e) => {
    count(`topology error: ${e.source}: ${kindOf(e.error.message)}`);
    trace?.(`topology error: ${e.error.message}`);
  });
  mc.on("topologyChange", (c) => {
    count(`topology change: ${c.reason}`);
    trace?.(`topology change: ${JSON.stringify(c)}`);
  });
  const check = new Checker(s, origin, o.tolerate);
  const calls = new Calls(mc, check, clock, { timeout: s.timeout, replicas: s.replicas, trace });
  const others: Promise<unknown>[] = [];

  const pools = { grew: false, idled: false };
  for (const step of h.steps) {
    await clock.advance(step.gap);
    if (s.pool != null) notePools(mc, pools);
    trace?.(`step ${JSON.stringify(step)}`);
    if (calls.run(step)) continue;
    if (step.op === "list" || step.op === "dns" || step.op === "endpoint" || step.op === "swapNode") {
      const list = fleet.change(step);
      if (list !== null) others.push(mc.setServers(list).catch(() => undefined));
    } else fault(step, net, labelOf);
  }
  if (pools.grew) count("pool: a server used more than one connection");
  if (pools.idled) count("pool: a connection waited idle in generic-pool");
  // Everything comes back; then a last read of every key.
  trace?.("every fault lifted");
  for (let i = 0; i < s.weights.length; i++) {
    const label = labelOf(i);
    if (!net.server(label).alive) net.restart(label);
    net.resume(label);
    net.heal(label);
    net.takeCut(label);
    net.server(label).delay = 0;
  }
  fleet.heal();
  await clock.advance(s.retryDelay * 8 + 2000);
  for (let i = 0; i < 100 && calls.writing > 0; i++) await clock.advance(50);
  if (calls.writing > 0)
    check.broken.push(`${calls.writing} writes still pending long after their deadlines`);
  for (let key = 0; key < check.keyCount; key++) calls.read(key, "final get", (k) => mc.get(k));
  let closed = false;
  const closing = mc.close().then(() => {
    closed = true;
  });
  for (let i = 0; i < 200 && !closed; i++) await clock.advance(50);
  await clock.advance(100);
  const all = [...calls.all, ...others];
  let settled = 0;
  for (const c of all) void c.then(() => settled++);
  await clock.advance(1);
  if (!closed) check.broken.push("close() did not resolve within 10 s of virtual time");
  if (settled !== all.length) check.broken.push(`${all.length - settled} calls still pending after close`);
  if (net.openSockets !== 0) check.broken.push(`${net.openSockets} sockets still open after close`);
  await closing.catch(() => undefined);
  return { broken: check.broken, known: check.known };
}

/** What a topology error says, without its varying parts (for `--stats`). */
function kindOf(message: string): string {
  return message
    .replace(/\d+/g, "N")
    .replace(/"[^"]*"/g, "…")
    .slice(0, 90);
}

/** Notes whether a server has used more than one connection, and whether one waited idle. */
function notePools(mc: Client, seen: { grew: boolean; idled: boolean }): void {
  for (const { pool } of mc.health().servers) {
    if (pool.active > 1) seen.grew = true;
    if (pool.available > 0) seen.idled = true;
  }
}

/** Applies a fault of a server or of the network. */
function fault(step: Step, net: SimNetwork, labelOf: (i: number) => string): void {
  switch (step.op) {
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
    case "partition":
      net.partition(labelOf(step.server));
      break;
    case "heal":
      net.heal(labelOf(step.server));
      break;
    case "slow":
      net.server(labelOf(step.server)).delay = step.delay;
      break;
    case "cut":
      net.cut(labelOf(step.server), step.share / 100);
      break;
    case "lag":
      net.lag(labelOf(step.server), step.conn, step.delay);
      break;
  }
}
