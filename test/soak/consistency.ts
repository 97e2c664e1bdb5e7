/**
 * The consistency soak: every read returns a miss or a value at least as new as the last write of
 * its key acknowledged before the read began — checked like a database's, while servers fail.
 *
 * Three real memcached servers. Each key has one writer (so "the last acknowledged write" is well
 * defined): it sets `<key>#<version>` with rising versions and sometimes deletes; when a set is
 * acknowledged the key's floor becomes its version, when a delete is, the next version. Readers
 * (get and getMany) note the floor when a read begins and check what comes back: a hit must be the
 * key's, with a version at or above that floor. Meanwhile a chaos loop kills a server and restarts
 * it empty, pauses one shorter than the failure threshold and one longer (it comes back with its old
 * data), one at a time. The hit ratio shows that the client did not just answer misses.
 *
 * With `topology`, the server list changes too: four servers, of which a random two to four are the
 * list (setServers every half second or so), with warm-up on — keys move away and back, their
 * previous owners are asked for them, and servers fail on and off the list meanwhile.
 *
 * Variants: `weights` gives each server of each list a random weight of 1–3 (keys then move between
 * servers that stay up when the list or a weight changes); `hedge` hedges reads (`after: 2` ms).
 */
import { Client, HashRing, type Protocol, type ServerSpec } from "../../src/index.ts";
import { type MemcachedServer, sleep, startMemcached } from "../support/memcached.ts";

export interface ConsistencySummary {
  seconds: number;
  replicas: number;
  reads: number;
  hits: number;
  /** Hits older than the last write acknowledged before the read began: defects. */
  stale: number;
  /** Hits of another key, or of a version never written: defects. */
  wrong: number;
  writes: { acknowledged: number; failed: number };
  readErrors: number;
  chaos: string[];
  /** Changes of the server list the client applied (its `health().topology.changes`). */
  listChanges: number;
  /** The first defects, described. */
  violations: string[];
}

/** Settings beyond the defaults. */
export interface SoakVariant {
  /** Random weights of 1–3 on every list. */
  weights?: boolean;
  /** Hedged reads (with replicas). */
  hedge?: boolean;
}

const DEADLINE = 200;
const KEYS = 240;
const WRITERS = 8;
const READERS = 16;

export async function runConsistencySoak(
  seconds: number,
  replicas: number,
  protocol: Protocol = "meta",
  log: (line: string) => void = () => {},
  topology = false,
  variant: SoakVariant = {},
): Promise<ConsistencySummary> {
  const servers: MemcachedServer[] = await Promise.all(
    Array.from({ length: topology ? 4 : 3 }, () => startMemcached()),
  );
  const entries = (list: MemcachedServer[]): ServerSpec[] =>
    list.map((x) =>
      variant.weights === true
        ? { host: x.host, port: x.port, weight: 1 + Math.floor(Math.random() * 3) }
        : x.label,
    );
  const mc = new Client({
    protocol,
    servers: entries(servers.slice(0, 3)),
    replicas,
    ...(variant.hedge === true ? { hedge: { after: 2, maxExtraLoad: 0.2 } } : {}),
    timeout: DEADLINE,
    failover: { failureThreshold: 2, retryDelay: 150, maxRetryDelay: 600 },
    // NO_WARM=1: the list changes without warm-up.
    ...(topology && process.env.NO_WARM === undefined ? { warmUp: { window: 2000 } } : {}),
  });
  const t0 = performance.now();
  // SOAK_EVENTS=1: the client's events, and for the first stale reads what each server holds.
  const events = process.env.SOAK_EVENTS !== undefined;
  const direct = events ? servers.map((x) => new Client({ servers: [x.label], timeout: 1000 })) : [];
  if (events) {
    for (const e of ["serverDown", "serverUp", "serverFlushed", "writeFailure"] as const) {
      mc.on(e, (x: { server: string; error?: unknown; reason?: string }) =>
        s.chaos.push(
          `${((performance.now() - t0) / 1000).toFixed(2)}s ${e} ${x.server} ${x.error instanceof Error ? x.error.message : (x.reason ?? "")}`,
        ),
      );
    }
  }
  const keys = Array.from({ length: KEYS }, (_, i) => `consistency:${i}`);
  const floor = new Map<string, number>(keys.map((k) => [k, 0])); // a hit must be at least this version
  const written = new Map<string, number>(keys.map((k) => [k, 0])); // highest version ever sent
  const s: ConsistencySummary = {
    seconds,
    replicas,
    reads: 0,
    hits: 0,
    stale: 0,
    wrong: 0,
    writes: { acknowledged: 0, failed: 0 },
    readErrors: 0,
    chaos: [],
    listChanges: 0,
    violations: [],
  };
  const violate = (v: string) => {
    if (s.violations.length < 20) s.violations.push(v);
  };
  const check = (k: string, v: unknown, atLeast: number, op: string) => {
    s.reads++;
    if (v === undefined) return;
    s.hits++;
    const text = String(v);
    const hash = text.lastIndexOf("#");
    const version = Number(text.slice(hash + 1));
    if (text.slice(0, hash) !== k || !(version >= 1 && version <= written.get(k)!)) {
      s.wrong++;
      return violate(`${op} ${k}: ${JSON.stringify(text)} is not a value written to it`);
    }
    if (version < atLeast) {
      s.stale++;
      violate(`${op} ${k}: version ${version}, but ${atLeast} was acknowledged before the read began`);
      if (events && s.stale <= 3) {
        const list = mc.health().servers.map((x) => servers.findIndex((y) => y.label === x.label));
        void Promise.all(servers.map((x) => direct[servers.indexOf(x)]!.get(k).catch(() => "err"))).then(
          (vals) =>
            s.chaos.push(
              `${((performance.now() - t0) / 1000).toFixed(2)}s STALE ${k} v${version}<${atLeast} list ${list} owner ${servers.findIndex((y) => y.label === new HashRing(list.map((i) => servers[i]!.label)).serverFor(k))} on servers ${JSON.stringify(vals)}`,
            ),
        );
      }
    }
  };

  let stop = false;
  const writer = async (w: number) => {
    const mine = keys.filter((_, i) => i % WRITERS === w);
    while (!stop) {
      const k = mine[Math.floor(Math.random() * mine.length)]!;
      const v = written.get(k)! + 1;
      written.set(k, v);
      try {
        if (Math.random() < 0.1) {
          await mc.delete(k);
          floor.set(k, v); // a hit must now be newer than the delete: versions above v - 1
        } else if (await mc.set(k, `${k}#${v}`)) floor.set(k, v);
        s.writes.acknowledged++;
      } catch {
        s.writes.failed++; // not acknowledged: the floor stays
        await sleep(2);
      }
    }
  };
  const reader = async () => {
    while (!stop) {
      const k = keys[Math.floor(Math.random() * KEYS)]!;
      try {
        if (Math.random() < 0.8) {
          const atLeast = floor.get(k)!;
          check(k, await mc.get(k), atLeast, "get");
        } else {
          const many = [k, ...Array.from({ length: 4 }, () => keys[Math.floor(Math.random() * KEYS)]!)];
          const atLeast = many.map((m) => floor.get(m)!);
          const got = await mc.getMany(many);
          many.forEach((m, i) => {
            check(m, got.get(m), atLeast[i]!, "getMany");
          });
        }
      } catch {
        s.readErrors++;
        await sleep(2);
      }
    }
  };
  const started = performance.now();
  const changes = async () => {
    while (!stop) {
      await sleep(300 + Math.random() * 400);
      if (stop) break;
      const list = servers.filter(() => Math.random() < 0.6);
      while (list.length < 2) {
        const more = servers[Math.floor(Math.random() * servers.length)]!;
        if (!list.includes(more)) list.push(more);
      }
      const next = entries(list);
      s.chaos.push(
        `${((performance.now() - started) / 1000).toFixed(1)}s list ${list.map((x, i) => `${servers.indexOf(x)}${typeof next[i] === "string" ? "" : `w${(next[i] as { weight: number }).weight}`}`).join(",")}`,
      );
      await mc.setServers(next);
    }
  };
  const chaos = async () => {
    const actions = ["kill", "short pause", "long pause"] as const;
    for (let n = 0; !stop; n++) {
      await sleep(700 + Math.random() * 700);
      if (stop) break;
      const i = Math.floor(Math.random() * servers.length);
      const server = servers[i]!;
      const action = actions[n % actions.length]!;
      s.chaos.push(`${((performance.now() - started) / 1000).toFixed(1)}s ${action} #${i}`);
      if (action === "kill") {
        await server.kill();
        await sleep(400 + Math.random() * 400);
        await server.start(server.port); // empty
      } else {
        await server.pause();
        await sleep(action === "short pause" ? 40 : 500 + Math.random() * 500);
        server.resume();
      }
    }
  };
  const running = [
    chaos(),
    ...(topology ? [changes()] : []),
    ...Array.from({ length: WRITERS }, (_, w) => writer(w)),
    ...Array.from({ length: READERS }, reader),
  ];
  try {
    await sleep(seconds * 1000);
  } finally {
    // Whatever failed, the servers go (a paused one resumed first) and nothing keeps running.
    stop = true;
    await Promise.allSettled(running);
    s.listChanges = mc.health().topology.changes;
    for (const server of servers) server.resume();
    await mc.close();
    await Promise.all(direct.map((d) => d.close()));
    await Promise.all(servers.map((server) => server.kill()));
  }
  await Promise.all(running); // a chaos step that threw (a restart that failed) is a failure
  log(JSON.stringify(s, null, 1));
  return s;
}
