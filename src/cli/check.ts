/**
 * `memcachio check`: every server asked for its `version`, each on a connection of its own within
 * the deadline, judged in one line —
 *
 *   MEMCACHED WARNING - 1/2 servers up, slowest 0.9 ms; b:11211 down (reason) | 'a:11211'=0.912ms 'b:11211'=U
 *
 * Always exactly one line: reasons are put on one line and lose their `|` (see {@link oneLine}).
 */
import type { ClientOptions } from "../options.js";
import type { ServerArgs } from "./arguments.js";
import { CRITICAL, OK, oneLine, reasonOf, WARNING, withServer } from "./report.js";

/** One server's answer to `version`. */
export interface Probe {
  label: string;
  ok: boolean;
  /** Time to the answer (or to the failure), ms. */
  ms: number;
  /** The version, or why there is none (one line). */
  detail: string;
}

/** Asks the server at `label` for its version, on a client of its own. */
function probe(label: string, options: Partial<ClientOptions>): Promise<Probe> {
  const t0 = performance.now();
  return withServer(label, options, async (mc) => {
    try {
      const v = (await mc.version())[label];
      if (v === undefined) return { label, ok: false, ms: performance.now() - t0, detail: "down" };
      return { label, ok: true, ms: performance.now() - t0, detail: oneLine(v) };
    } catch (err) {
      return { label, ok: false, ms: performance.now() - t0, detail: reasonOf(err) };
    }
  });
}

/** Runs `check`; prints its line with `out`, returns the exit code. */
export async function check(
  args: ServerArgs & { warn: number },
  out: (line: string) => void,
): Promise<number> {
  const probes = await Promise.all(args.labels.map((label) => probe(label, args.options)));
  const up = probes.filter((p) => p.ok);
  const slow = up.filter((p) => p.ms > args.warn);
  const code = up.length === 0 ? CRITICAL : up.length < probes.length || slow.length > 0 ? WARNING : OK;
  const status = ["OK", "WARNING", "CRITICAL"][code];
  const max = up.length === 0 ? "" : `, slowest ${Math.max(...up.map((p) => p.ms)).toFixed(1)} ms`;
  const problems = [
    ...probes.filter((p) => !p.ok).map((p) => `${p.label} down (${p.detail})`),
    ...slow.map((p) => `${p.label} slow (${p.ms.toFixed(1)} ms)`),
  ];
  const text = `${up.length}/${probes.length} servers up${max}${problems.length > 0 ? `; ${problems.join("; ")}` : ""}`;
  const perf = probes.map((p) => `'${oneLine(p.label)}'=${p.ok ? `${p.ms.toFixed(3)}ms` : "U"}`).join(" ");
  out(`MEMCACHED ${status} - ${oneLine(text)} | ${perf}`);
  return code;
}
