/**
 * Fallback owners: with ejection, a key whose home is away lives on the next server up in its ring
 * order, and the copy that server took outlives the outage. Such copies are deleted when the home
 * returns (on the fallback owners up then), and remembered for the fallback owners that are away
 * then, or away when the key is written: back while the key's homes still are away, one would serve
 * its copy again.
 */
import { ketamaHash } from "../ketama.js";
import type { Membership } from "../membership.js";
import type { Server } from "../server.js";
import type { StaleKey, WriteFailures } from "./write-failures.js";

/**
 * Servers away, other than `homes`, that may hold a fallback copy of the key whose hash is `hash`:
 * those within its first `replicas` + away servers in ring order (a superset of the ones that would
 * be its replicas, were they back now).
 */
export function awayFallbacks(m: Membership, hash: number, homes: readonly string[]): string[] {
  if (!m.ejects || m.away === 0) return [];
  const near = m.homeRing.serversForHash(hash, Math.min(m.servers.length, m.replicas + m.away));
  return near.filter((label) => !homes.includes(label) && m.server(label)?.state !== "up");
}

/**
 * Where `keys` live while `away` is out of the ring, other than their homes (the servers they live
 * on when all are up): the fallback owners up that hold copies of them, by server. For those away,
 * the keys are remembered in `stale` instead, deleted on their return.
 */
export function fallbackCopies(
  m: Membership,
  away: Server,
  keys: StaleKey[],
  stale: WriteFailures,
): Map<Server, StaleKey[]> {
  const byServer = new Map<Server, StaleKey[]>();
  if (!m.ejects) return byServer;
  for (const k of keys) {
    const homes = m.homesOf(k.route);
    for (const label of awayFallbacks(m, ketamaHash(k.route), homes))
      if (label !== away.label) stale.record(label, k.token, k.base64, k.route);
    for (const s of m.replicasOf(k.route)) {
      if (s === away || s.state !== "up" || homes.includes(s.label)) continue;
      const list = byServer.get(s);
      if (list === undefined) byServer.set(s, [k]);
      else list.push(k);
    }
  }
  return byServer;
}
