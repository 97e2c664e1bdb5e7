/**
 * The servers and the ring of a new server list, made over several turns of the event loop when the
 * list is long, and the servers it left closed the same way: a thousand servers made, hashed and
 * closed in one turn stalled every call for a few hundred milliseconds. Calls go on meanwhile, on the
 * list they have; a short list is made in one turn.
 */
import { HashRing } from "./ketama.js";
import type { Server } from "./server.js";
import type { ServerAddress } from "../util/servers.js";

/** Servers made, or hashed onto the ring, in one turn. */
export const SERVERS_PER_TURN = 100;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Makes a server of each of `joining`, and the ring of `addresses` (the whole new list). */
export async function buildList(
  joining: readonly ServerAddress[],
  addresses: readonly ServerAddress[],
  makeServer: (address: ServerAddress) => Server,
): Promise<{ added: Server[]; ring: HashRing }> {
  const added: Server[] = [];
  for (const a of joining) {
    if (added.length > 0 && added.length % SERVERS_PER_TURN === 0) await nextTurn();
    added.push(makeServer(a));
  }
  const steps = HashRing.inSteps(addresses, SERVERS_PER_TURN);
  let step = steps.next();
  while (step.done !== true) {
    await nextTurn();
    step = steps.next();
  }
  return { added, ring: step.value };
}

/** Closes `servers` (off the list already), {@link SERVERS_PER_TURN} in a turn. */
export async function closeInSteps(servers: readonly Server[]): Promise<void> {
  for (let i = 0; i < servers.length; i++) {
    if (i > 0 && i % SERVERS_PER_TURN === 0) await nextTurn();
    servers[i]!.close().catch(() => undefined);
  }
}
