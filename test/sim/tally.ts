/**
 * Counts of what the simulated histories exercised (reads judged by kind, writes by outcome, faults
 * that took effect), summed over a run: `npm run sim -- --stats` prints them, to show that a clean
 * run covered what it claims to.
 */
export const tally = new Map<string, number>();

export function count(what: string, n = 1): void {
  tally.set(what, (tally.get(what) ?? 0) + n);
}
