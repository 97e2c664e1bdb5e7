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

/**
 * Makes a server of each of `joining`, and the ring of `addresses` (the whole new list); then, for a
 * long list, runs `prepare` (what the change's last turn would otherwise make) and lets a turn pass.
 * Null when `stopped()` (the client closed) between two turns: what was made is closed first.
 */
export async function buildList(
  joining: readonly ServerAddress[],
  addresses: readonly ServerAddress[],
  makeServer: (address: ServerAddress) => Server,
  stopped: () => boolean,
  prepare: () => void = () => {},
): Promise<{ added: Server[]; ring: HashRing } | null> {
  const added: Server[] = [];
  const stop = async () => {
    await Promise.all(added.map((s) => s.close()));
    return null;
  };
  for (const a of joining) {
    if (added.length > 0 && added.length % SERVERS_PER_TURN === 0) {
      await nextTurn();
      if (stopped()) return stop();
    }
    added.push(makeServer(a));
  }
  const steps = HashRing.inSteps(addresses, SERVERS_PER_TURN);
  let step = steps.next();
  let turns = 0;
  while (step.done !== true) {
    await nextTurn();
    if (stopped()) return stop();
    step = steps.next();
    turns++;
  }
  if (turns > 0) {
    try {
      prepare();
    } catch {
      // Only a head start: what it makes is made again where it is needed.
    }
    await nextTurn();
    if (stopped()) return stop();
  }
  return { added, ring: step.value };
}

/**
 * Closes `servers` (off the list already), {@link SERVERS_PER_TURN} in a turn, or the rest at once
 * when `hurry()` (the client is closing, and waits for them).
 */
export async function closeInSteps(servers: readonly Server[], hurry: () => boolean): Promise<void> {
  const closing: Promise<void>[] = [];
  for (let i = 0; i < servers.length; i++) {
    if (i > 0 && i % SERVERS_PER_TURN === 0 && !hurry()) await nextTurn();
    closing.push(servers[i]!.close().catch(() => undefined));
  }
  await Promise.all(closing);
}
