/**
 * Warm-up: a miss on a replica that may have restarted empty asks the key's next replica (copied
 * back only with `copy`, once what was sent there has landed, and never for a key written since);
 * writes of a key wait for its copy under way; after a change of the list, a miss on a key's new
 * home asks its previous owner.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { SETTLED } from "../../src/connection/attempt.ts";
import type { Call } from "../../src/cluster/call.ts";
import type { Server } from "../../src/cluster/server.ts";
import { WarmUp, type WarmItem, type WarmUpOptions, type WarmUpSender } from "../../src/cluster/warm-up.ts";
import { Batch, Frame, MODE_ADD, Op } from "../../src/protocol/frame.ts";
import {
  addr,
  FakeFleet,
  keysWhere,
  readAttempt,
  setFrame,
  UNUSED_HANDLER,
  until,
} from "../support/fake-fleet.ts";

const ITEM: WarmItem = { data: Buffer.from("v1"), flags: 0, ttl: 100 };
let fleet: FakeFleet;
afterEach(() => fleet.close());

/** The cluster as warm-up sees it: calls sent to a server, answered as `reply` says (default: at once). */
class Sender implements WarmUpSender {
  readonly calls: { server: Server; call: Call }[] = [];
  reply: (server: Server, call: Call) => void = (_s, call) =>
    call.succeed(call.frame.op === Op.WarmRead ? ITEM : true);
  succeeded(a: { call: Call }, value: unknown): void {
    a.call.succeed(value);
  }
  failed(a: { call: Call }, error: unknown): void {
    a.call.fail(error);
  }
  executeOn(server: Server, call: Call): Promise<unknown> {
    this.calls.push({ server, call });
    this.reply(server, call);
    return call.promise;
  }
  of(op: Op): { server: Server; call: Call }[] {
    return this.calls.filter((c) => c.call.frame.op === op);
  }
}

function warmUp(o: Partial<WarmUpOptions>, fleetOptions = { replicas: 2 }, servers = [1, 2, 3]) {
  fleet = new FakeFleet(
    servers.map((n) => addr(n)),
    fleetOptions,
  );
  const sender = new Sender();
  const options: WarmUpOptions = {
    window: 0,
    rejoinWindow: 10_000,
    copy: false,
    copyTtl: 60,
    read: UNUSED_HANDLER,
    store: UNUSED_HANDLER,
    noop: UNUSED_HANDLER,
    decode: (item) => item.data.toString(),
    ...o,
  };
  return { w: new WarmUp(fleet.membership, fleet.freshness, options, sender), sender };
}

/** A key, its two replicas, and the first one restarted (it came back after being down). */
function restarted(): { k: string; x: Server; next: Server } {
  const [k] = keysWhere(1, () => true);
  const [x, next] = fleet.membership.replicasOf(k!);
  x!.markDown(new Error("down for the test"));
  fleet.membership.up(x!);
  return { k: k!, x: x!, next: next! };
}

/** Until the look on `s` (a no-op on each of its connections) is answered: copies may follow. */
function landed(s: Server): Promise<void> {
  const answered = () => {
    const looks = fleet.sentOf(Op.Noop, s);
    return looks.length > 0 && looks.every((l) => l.attempt.state === SETTLED);
  };
  return until(answered, `the look on ${s.label}`);
}

/** A get of `k` that missed on `s`, as the cluster hands it to warm-up; true when it took it over. */
function miss(w: WarmUp, s: Server, k: string) {
  const r = readAttempt(s, k);
  r.a.succeed(undefined);
  return { taken: w.missed(r.a), call: r.call };
}

describe("WarmUp: a replica that may have restarted empty", () => {
  it("a miss there asks the next replica and returns its hit; without `copy` nothing is copied back", async () => {
    const { w, sender } = warmUp({ copy: false });
    const { k, x, next } = restarted();
    const m = miss(w, x, k);
    assert.equal(m.taken, true);
    assert.equal(await m.call.promise, "v1");
    assert.deepEqual(
      sender.of(Op.WarmRead).map((c) => c.server),
      [next],
    );
    assert.equal(w.hits, 1);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sender.of(Op.Store), []);
  });

  it("a miss on a server that did not restart, or after the window, is left a miss", async () => {
    const { w } = warmUp({ rejoinWindow: 10 });
    const [k] = keysWhere(1, () => true);
    const [x] = fleet.membership.replicasOf(k!);
    assert.equal(miss(w, x!, k!).taken, false, "never restarted");
    const r = restarted();
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(miss(w, r.x, r.k).taken, false, "window over");
  });

  it("never asks a next replica on which the key may be stale", () => {
    const { w } = warmUp({});
    const { k, x, next } = restarted();
    fleet.answer = () => undefined; // its repair stays under way
    fleet.freshness.noteFailedWrite(next, setFrame(k), () => k, new Error("reset"));
    assert.equal(miss(w, x, k).taken, false);
  });

  it("with `copy`, the hit is copied back with add once what was sent to the next replica has landed", async () => {
    const { w, sender } = warmUp({ copy: true });
    const { k, x, next } = restarted();
    assert.equal(await miss(w, x, k).call.promise, "v1");
    assert.deepEqual(fleet.sentOf(Op.Noop, next).length, 1, "the look on the next replica");
    assert.deepEqual(sender.of(Op.Store), [], "not before it is answered");
    await landed(next);
    assert.equal(await miss(w, x, k).call.promise, "v1");
    const [store] = sender.of(Op.Store);
    assert.equal(store?.server, x);
    assert.equal(store?.call.frame.key, k);
    assert.equal(store?.call.frame.mode, MODE_ADD, "an add: never over a value written meanwhile");
    assert.equal(store?.call.frame.ttl, 100, "the item's remaining TTL");
  });

  it("with `copy`, never copies back a key written since it may have restarted (noteWrite)", async () => {
    const { w, sender } = warmUp({ copy: true });
    const { k, x, next } = restarted();
    const sameReplicas = (o: string) => {
      const [r0, r1] = fleet.membership.replicasOf(o);
      return r0 === x && r1 === next;
    };
    const [other] = keysWhere(1, (o) => o !== k && sameReplicas(o));
    assert.equal(w.watchingWrites, true);
    w.noteWrite(setFrame(k));
    await miss(w, x, other!).call.promise; // starts the look on the next replica
    await landed(next);
    assert.equal(await miss(w, x, k).call.promise, "v1", "the hit is still returned");
    assert.equal(await miss(w, x, other!).call.promise, "v1");
    assert.deepEqual(
      sender.of(Op.Store).map((c) => c.call.frame.key),
      [other],
    );
  });

  it("with `copy`, no copy of a key written while its read was under way", async () => {
    const { w, sender } = warmUp({ copy: true });
    const { k, x, next } = restarted();
    await miss(w, x, k).call.promise;
    await landed(next);
    const reads: Call[] = [];
    sender.reply = (_s, call) => (call.frame.op === Op.WarmRead ? reads.push(call) : call.succeed(true));
    const m = miss(w, x, k);
    w.noteWrite(setFrame(k));
    reads[0]!.succeed(ITEM);
    assert.equal(await m.call.promise, "v1");
    assert.deepEqual(sender.of(Op.Store), []);
  });

  it("writes of a key wait for its copy under way (copyOf); other keys do not", async () => {
    const { w, sender } = warmUp({ copy: true });
    const { k, x, next } = restarted();
    await miss(w, x, k).call.promise;
    await landed(next);
    const stores: Call[] = [];
    sender.reply = (_s, call) => (call.frame.op === Op.Store ? stores.push(call) : call.succeed(ITEM));
    await miss(w, x, k).call.promise;
    assert.equal(stores.length, 1);
    assert.equal(w.copyOf(setFrame("another key")), null);
    const batch = new Frame(Op.StoreMany);
    batch.batch = new Batch(["another key", k], null);
    const waits = [w.copyOf(setFrame(k)), w.copyOf(batch)];
    assert.ok(waits.every((p) => p !== null));
    let done = false;
    void Promise.all(waits).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(done, false, "waiting while the copy is under way");
    stores[0]!.succeed(true);
    await until(() => done, "the copy's end");
    assert.equal(w.copyOf(setFrame(k)), null);
  });

  it("a getMany's misses there that have a next replica are handed back for it", () => {
    const { w } = warmUp({});
    const { k, x } = restarted();
    const [hit, notHere] = [
      keysWhere(1, (o) => o !== k && fleet.membership.replicasOf(o).includes(x))[0]!,
      keysWhere(1, (o) => !fleet.membership.replicasOf(o).includes(x))[0]!,
    ];
    const r = readAttempt(x, [k, hit, notHere]);
    (r.call.result as Map<string, unknown>).set(hit, "v");
    assert.deepEqual(w.missedMany(r.a), [0]);
  });
});

describe("WarmUp: after a change of the list", () => {
  it("a miss on a key's new home asks its previous owner, once what was sent there has landed, and copies the hit", async () => {
    const { w, sender } = warmUp({ window: 10_000 }, { replicas: 1 }, [1, 2]);
    const before = fleet.membership.homeRing;
    await fleet.membership.setServers([addr(1), addr(2), addr(3)], "C joins");
    const c = fleet.server(3);
    const [k] = keysWhere(1, (x) => fleet.membership.homeRing.serverFor(x) === c.label);
    const old = fleet.membership.server(before.serverFor(k!))!;
    assert.equal(miss(w, c, k!).taken, false, "the first miss starts the look and stays a miss");
    assert.equal(fleet.sentOf(Op.Noop, old).length, 1);
    await landed(old);
    const m = miss(w, c, k!);
    assert.equal(m.taken, true);
    assert.equal(await m.call.promise, "v1");
    assert.deepEqual(
      sender.of(Op.WarmRead).map((x) => x.server),
      [old],
    );
    assert.deepEqual(
      sender.of(Op.Store).map((x) => x.server),
      [c],
    );
  });
});
