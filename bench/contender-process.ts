/**
 * One contender of `npm run bench` in a process of its own, so that no client shares its heap, its
 * garbage collector or its JIT with another (the raw ceilings, which allocate almost nothing, would
 * otherwise be measured next to clients that do). Forked by `run.ts` with a {@link Start} message;
 * then runs each {@link Run} it is sent and answers with the {@link Sample}. Idle between runs.
 */
import {
  type Contender,
  memcacheClient,
  memcachedClient,
  memcachio,
  memjsClient,
  connected,
  RawSocket,
} from "./contenders.ts";
import { MinimalClient } from "./minimal-client.ts";
import { runClient, runRaw, type Sample, type Workload } from "./workloads.ts";

/** The first message: which contender, and where the servers are. */
export interface Start {
  type: "start";
  name: string;
  /** host:port of the plain memcached, and of the TLS one. */
  label: string;
  tlsLabel: string;
  /** Path of the Unix socket of a third memcached, identical but for `-s`. */
  unixLabel: string;
  /** host:port of a twemproxy (nutcracker) in front of the plain memcached alone. */
  twemproxyLabel: string;
  /** PEM of the CA that signed the TLS server's certificate. */
  ca: string;
  /** The `--base` row: the `index.ts` of memcachio's source at an earlier commit. */
  baseIndex?: string;
}

/** Run workload `w` for `ms` and answer with a {@link Reply}. */
export interface Run {
  type: "run";
  w: Workload;
  ms: number;
}

/** What the process sends back: "ready" once connected, a sample per run, or an error. */
export type Reply =
  | { type: "ready" }
  | { type: "sample"; sample: Sample }
  | { type: "error"; message: string };

async function client(s: Start): Promise<Contender> {
  if (s.name.startsWith("memcachio @") && s.baseIndex !== undefined) {
    const base = (await import(s.baseIndex)) as { Client: Parameters<typeof memcachio>[3] };
    return memcachio(s.label, s.name, {}, base.Client);
  }
  switch (s.name) {
    case "memcachio":
      return memcachio(s.label);
    case "memcachio binary":
      return memcachio(s.label, s.name, { protocol: "binary" });
    case "memcachio unix":
      return memcachio(s.unixLabel, s.name);
    case "memcachio text":
      return memcachio(s.label, s.name, { protocol: "text" });
    case "memcachio twemproxy":
      return memcachio(s.twemproxyLabel, s.name, { proxy: "twemproxy" });
    case "memcachio tls":
      return memcachio(s.tlsLabel, s.name, { tls: { ca: s.ca } });
    case "memjs":
      return memjsClient(s.label);
    case "memcached":
      return memcachedClient(s.label);
    case "memcache-client":
      return memcacheClient(s.label);
  }
  throw new Error(`unknown contender ${s.name}`);
}

const host = (label: string) => label.slice(0, label.lastIndexOf(":"));
const port = (label: string) => Number(label.slice(label.lastIndexOf(":") + 1));
const send = (r: Reply) => process.send!(r);

let run: ((w: Workload, ms: number) => Promise<Sample>) | undefined;
let closing: (() => Promise<void> | void) | undefined;

/** Runs `w` and adds the process's CPU time per operation to its sample. */
async function timed(
  run: (w: Workload, ms: number) => Promise<Sample>,
  w: Workload,
  ms: number,
): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sample = await run(w, ms);
  const cpu = process.cpuUsage(cpu0);
  const ops = (sample.opsPerSec * (performance.now() - t0)) / 1000;
  return ops > 0 ? { ...sample, cpuUs: (cpu.user + cpu.system) / ops } : sample;
}

// Orphaned (the bench ended or crashed): go too, whatever sockets are open.
process.on("disconnect", () => process.exit(0));

process.on("message", (m: Start | Run | { type: "stop" }) => {
  void (async () => {
    try {
      if (m.type === "start") {
        if (m.name === "minimal client") {
          const minimal = new MinimalClient(() => connected(host(m.label), port(m.label)));
          await minimal.open();
          run = (w, ms) => runClient(minimal, w, ms);
          closing = () => minimal.close();
        } else if (m.name.startsWith("raw ")) {
          const raw = new RawSocket(host(m.label), port(m.label));
          await raw.open();
          const mode = m.name === "raw batches" ? "batches" : "window";
          run = (w, ms) => runRaw(raw, w, ms, mode);
          closing = () => raw.close();
        } else {
          const c = await client(m);
          run = (w, ms) => runClient(c, w, ms);
          closing = () => c.close();
        }
        send({ type: "ready" });
      } else if (m.type === "run") {
        send({ type: "sample", sample: await timed(run!, m.w, m.ms) });
      } else {
        await closing?.();
        process.disconnect();
      }
    } catch (err) {
      send({ type: "error", message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
