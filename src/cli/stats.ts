/**
 * `memcachio stats`: `stats [group]` of every server, one column per server, then one line per
 * server that did not answer and why —
 *
 *   stat        a:11211          b:11211
 *   pid           12345           (down)
 *   …
 *   b:11211 down: connection to b:11211 failed: connect ECONNREFUSED …
 *
 * A server that answers `stats <group>` with an error is up and refused the group: its column says
 * `(refused)` and its line `refused stats <group>: reason`; the exit code is then UNKNOWN (3), a usage
 * problem, unless some server is down.
 */
import { ClientError, InvalidArgumentError, ServerError } from "../errors.js";
import type { ServerArgs } from "./arguments.js";
import { CRITICAL, OK, reasonOf, UNKNOWN, WARNING, withServer } from "./report.js";

/** One server's answer. */
type Answer =
  | { label: string; stats: Record<string, string> }
  | { label: string; stats: null; failed: "down" | "refused"; reason: string };

function statsOf(label: string, args: ServerArgs & { group: string }): Promise<Answer> {
  return withServer(label, args.options, async (mc): Promise<Answer> => {
    try {
      return { label, stats: (await mc.stats(args.group))[label] ?? {} };
    } catch (err) {
      // Refused before anything was sent (a group name no server could take): the CLI's UNKNOWN.
      if (err instanceof InvalidArgumentError) throw err;
      // An error reply: the server is up and refused the request (its connection stays in use).
      const answered = err instanceof ClientError || err instanceof ServerError;
      return { label, stats: null, failed: answered ? "refused" : "down", reason: reasonOf(err) };
    }
  });
}

/** Runs `stats`; prints with `out`, returns the exit code. */
export async function stats(
  args: ServerArgs & { group: string },
  out: (line: string) => void,
): Promise<number> {
  const answers = await Promise.all(args.labels.map((label) => statsOf(label, args)));
  const names: string[] = [];
  const seen = new Set<string>();
  for (const a of answers) {
    for (const n of Object.keys(a.stats ?? {})) {
      if (!seen.has(n)) {
        seen.add(n);
        names.push(n);
      }
    }
  }
  const cells = answers.map((a) =>
    a.stats === null ? names.map(() => `(${a.failed})`) : names.map((n) => a.stats[n] ?? ""),
  );
  const widths = args.labels.map((l, i) => Math.max(l.length, ...cells[i]!.map((c) => c.length)));
  const first = Math.max(4, ...names.map((n) => n.length));
  out(["stat".padEnd(first), ...args.labels.map((l, i) => l.padStart(widths[i]!))].join("  "));
  if (names.length === 0) out("(no stats)");
  for (const [row, n] of names.entries()) {
    out([n.padEnd(first), ...cells.map((c, i) => c[row]!.padStart(widths[i]!))].join("  "));
  }
  const request = args.group === "" ? "stats" : `stats ${args.group}`;
  for (const a of answers) {
    if (a.stats !== null) continue;
    out(a.failed === "down" ? `${a.label} down: ${a.reason}` : `${a.label} refused ${request}: ${a.reason}`);
  }
  const down = answers.filter((a) => a.stats === null && a.failed === "down").length;
  const refused = answers.filter((a) => a.stats === null && a.failed === "refused").length;
  if (down === answers.length) return CRITICAL;
  if (down > 0) return WARNING;
  return refused > 0 ? UNKNOWN : OK;
}
