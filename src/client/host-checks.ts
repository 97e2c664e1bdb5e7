/**
 * The check of a server named by a host name (see `connection/host-pin.ts`): once its name's answer
 * for the family of the address its connections reach lacks that address, its node was replaced,
 * and the server's connections are replaced by ones that look the name up again. Run on the DNS
 * refresh schedule, and when the server goes down.
 */
import type { Server } from "../cluster/server.js";
import type { Names } from "./names.js";

/** Checks `s`'s name; `listed()` says whether `s` is still on the list. Rejects when the lookup fails. */
export async function checkHost(s: Server, names: Names, listed: () => boolean): Promise<void> {
  const pinned = s.pool.pinnedAddress;
  if (pinned === null) return;
  // An IPv6 zone (`fe80::1%eth0`) is the socket's, not in DNS answers.
  const still = await names.stillHas(s.address.host, pinned.split("%")[0]!);
  // Unless the pin or the list changed meanwhile (a later check judges the new pin).
  if (still === false && s.pool.pinnedAddress === pinned && listed()) s.pool.recycle();
}
