/**
 * Membership as a routing table: where a key goes while servers are down (ejection steps over them
 * on the home ring, no rebuild), replica order, the read target with and without zones, and how a
 * change of the list is planned, handed to the hooks and committed in one step.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ClientClosedError } from "../../src/errors.ts";
import { HashRing } from "../../src/cluster/ketama.ts";
import type { ListChange } from "../../src/cluster/membership.ts";
import type { Server } from "../../src/cluster/server.ts";
import { Op } from "../../src/protocol/frame.ts";
import { addr, FakeFleet } from "../support/fake-fleet.ts";

const keys = Array.from({ length: 2000 }, (_, i) => `route:${i}`);
const down = new Error("down for the test");
let fleet: FakeFleet;
afterEach(() => fleet.close());

/** The home ring's replica order of `key` less the servers in `skip`, first `n`. */
function expectedReplicas(f: FakeFleet, key: string, n: number, skip: string[]): string[] {
  const ring = f.membership.homeRing;
  return ring
    .serversFor(key, ring.servers.length)
    .filter((l) => !skip.includes(l))
    .slice(0, n);
}

describe("Membership: ejection on the home ring", () => {
  it("a server down moves only its own keys, to the next live server clockwise, whatever the weights", () => {
    fleet = new FakeFleet([addr(1, 1), addr(2, 3), addr(3, 1)], { eject: true });
    const m = fleet.membership;
    const c = fleet.server(3);
    c.markDown(down);
    let moved = 0;
    for (const k of keys) {
      const home = m.homeRing.serverFor(k);
      const owner = m.owner(k)!.label;
      if (home === c.label) {
        moved++;
        assert.equal(owner, expectedReplicas(fleet, k, 1, [c.label])[0], k);
      } else assert.equal(owner, home, `${k} left its live home`);
      assert.equal(m.readTarget(k), m.owner(k));
    }
    assert.ok(moved > 0, "some keys lived on the server taken down");
  });

  it("replicasOf skips the servers not up: the home ring's order less them", () => {
    fleet = new FakeFleet(
      [1, 2, 3, 4, 5].map((n) => addr(n)),
      { eject: true, replicas: 2 },
    );
    const c = fleet.server(3);
    c.markDown(down);
    for (const k of keys.slice(0, 500)) {
      const got = fleet.membership.replicasOf(k).map((s) => s.label);
      assert.deepEqual(got, expectedReplicas(fleet, k, 2, [c.label]), k);
    }
  });

  it("with most servers away, the live ring routes exactly as stepping over them does", () => {
    fleet = new FakeFleet(
      [1, 2, 3, 4].map((n) => addr(n)),
      { eject: true, replicas: 2 },
    );
    const away = [fleet.server(2), fleet.server(3)];
    for (const s of away) s.markDown(down);
    assert.equal(fleet.membership.away, 2);
    const skip = away.map((s) => s.label);
    for (const k of keys.slice(0, 500)) {
      assert.equal(fleet.membership.owner(k)!.label, expectedReplicas(fleet, k, 1, skip)[0], k);
      const got = fleet.membership.replicasOf(k).map((s) => s.label);
      assert.deepEqual(got, expectedReplicas(fleet, k, 2, skip), k);
    }
  });

  it("a server put back routes its keys home again and is reported as maybe empty", () => {
    fleet = new FakeFleet(
      [1, 2, 3].map((n) => addr(n)),
      { eject: true },
    );
    const m = fleet.membership;
    const c = fleet.server(3);
    const empty: Server[] = [];
    m.mayBeEmpty = (s) => empty.push(s);
    const own = keys.filter((k) => m.homeRing.serverFor(k) === c.label);
    c.markDown(down);
    assert.ok(own.every((k) => m.owner(k) !== c));
    m.up(c);
    assert.equal(c.state, "up");
    assert.equal(m.away, 0);
    assert.ok(own.every((k) => m.owner(k) === c));
    assert.deepEqual(empty, [c]);
  });

  it("without ejection a down home keeps its keys (they fail fast there)", () => {
    fleet = new FakeFleet(
      [1, 2, 3].map((n) => addr(n)),
      { eject: false },
    );
    const c = fleet.server(3);
    c.markDown(down);
    for (const k of keys.slice(0, 500))
      assert.equal(fleet.membership.owner(k)!.label, fleet.membership.homeRing.serverFor(k));
  });

  it("a single server owns every key whatever its state", () => {
    fleet = new FakeFleet([addr(1)], { eject: true });
    const only = fleet.server(1);
    only.markDown(down);
    assert.equal(fleet.membership.owner("k"), only);
    assert.deepEqual(fleet.membership.replicasOf("k"), [only]);
  });
});

describe("Membership: readTarget", () => {
  it("reads the owner while up; then the first replica up not yet tried; none left: undefined", () => {
    fleet = new FakeFleet(
      [1, 2, 3, 4].map((n) => addr(n)),
      { eject: false, replicas: 3 },
    );
    const m = fleet.membership;
    for (const k of keys.slice(0, 200)) {
      const [r0, r1, r2] = m.replicasOf(k);
      assert.equal(m.readTarget(k), r0);
      assert.equal(m.readTarget(k, [r0!]), r1);
      assert.equal(m.readTarget(k, [r0!, r1!]), r2);
      assert.equal(m.readTarget(k, [r0!, r1!, r2!]), undefined);
    }
  });

  it("with the owner down, a first read goes to the next replica up; with every copy down, to the owner (fails fast)", () => {
    fleet = new FakeFleet(
      [1, 2, 3, 4].map((n) => addr(n)),
      { eject: false, replicas: 2 },
    );
    const m = fleet.membership;
    const k = keys[0]!;
    const [r0, r1] = m.replicasOf(k);
    r0!.markDown(down);
    assert.equal(m.readTarget(k), r1);
    r1!.markDown(down);
    assert.equal(m.readTarget(k), r0);
    assert.equal(m.readTarget(k, [r0!]), undefined);
  });

  it("with one copy per key, the owner whatever its state", () => {
    fleet = new FakeFleet(
      [1, 2].map((n) => addr(n)),
      { eject: false, replicas: 1 },
    );
    const k = keys[0]!;
    const owner = fleet.membership.owner(k)!;
    owner.markDown(down);
    assert.equal(fleet.membership.readTarget(k), owner);
  });
});

describe("Membership: readTarget with zones", () => {
  const zoned = () =>
    new FakeFleet([addr(1, 1, "z0"), addr(2, 1, "z1"), addr(3, 1, "z0"), addr(4, 1, "z1")], {
      eject: true,
      replicas: 2,
      zone: "z1",
    });
  const inZone = (s: Server | undefined) => s?.address.zone === "z1";

  it("a get goes first to the copy in the client's zone", () => {
    fleet = zoned();
    for (const k of keys.slice(0, 300)) {
      const replicas = fleet.membership.replicasOf(k);
      assert.deepEqual(replicas.map((s) => s.address.zone).sort(), ["z0", "z1"], k);
      assert.ok(inZone(fleet.membership.readTarget(k, undefined, Op.Get)), k);
    }
  });

  it("a gets (for its cas), a retry, or a read without its op goes by replica order, not by zone", () => {
    fleet = zoned();
    const m = fleet.membership;
    for (const k of keys.slice(0, 300)) {
      const [r0, r1] = m.replicasOf(k);
      assert.equal(m.readTarget(k, undefined, Op.Gets), r0);
      assert.equal(m.readTarget(k), r0);
      assert.equal(m.readTarget(k, [r0!], Op.Get), r1);
    }
  });

  it("with the client's zone down, a get goes to a copy that is up", () => {
    fleet = zoned();
    fleet.server(2).markDown(down);
    fleet.server(4).markDown(down);
    for (const k of keys.slice(0, 300)) {
      const s = fleet.membership.readTarget(k, undefined, Op.Get);
      assert.equal(s?.state, "up", k);
      assert.equal(s?.address.zone, "z0", k);
    }
  });
});

describe("Membership: a change of the list", () => {
  it("hands the hooks the servers added, removed, kept and reweighted; the ring changes only at commit", async () => {
    fleet = new FakeFleet([addr(1), addr(2), addr(3)], { eject: true });
    const m = fleet.membership;
    const before = m.homeRing;
    let seen: ListChange | undefined;
    m.attach({
      rejoin: async (s) => m.up(s),
      changeList: async (c) => {
        seen = c;
        assert.equal(m.homeRing, before, "not current before commit");
        assert.equal(c.commit(), true);
        assert.equal(m.homeRing, c.after, "current in the commit's step");
      },
    });
    const change = await m.setServers([addr(1), addr(2, 2), addr(4)], "test");
    assert.deepEqual(change, {
      added: ["10.0.0.4:11211"],
      removed: ["10.0.0.3:11211"],
      reweighted: ["10.0.0.2:11211"],
    });
    assert.deepEqual(
      seen!.kept.map((s) => s.label),
      ["10.0.0.1:11211", "10.0.0.2:11211"],
    );
    assert.equal(fleet.server(2).address.weight, 2);
    assert.equal(m.server("10.0.0.3:11211"), undefined);
    assert.deepEqual(await m.setServers([addr(1), addr(2, 2), addr(4)], "same"), { added: [], removed: [] });
  });

  it("changes run one at a time: the next waits until the one under way has finished", async () => {
    fleet = new FakeFleet([addr(1), addr(2)], { eject: true });
    const m = fleet.membership;
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    m.attach({
      rejoin: async (s) => m.up(s),
      changeList: async (c) => {
        order.push(`start ${c.reason}`);
        if (c.reason === "first") await held;
        c.commit();
        order.push(`end ${c.reason}`);
      },
    });
    const first = m.setServers([addr(1), addr(2), addr(3)], "first");
    const second = m.setServers([addr(1), addr(3)], "second");
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(order, ["start first"]);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ["start first", "end first", "start second", "end second"]);
  });

  it("a change whose commit finds the client closed rejects with ClientClosedError and the list stays", async () => {
    fleet = new FakeFleet([addr(1), addr(2)], { eject: true });
    const m = fleet.membership;
    let committed: boolean | undefined;
    m.attach({
      rejoin: async (s) => m.up(s),
      changeList: async (c) => {
        const closing = m.close(); // waits for this change
        committed = c.commit();
        void closing;
      },
    });
    await assert.rejects(m.setServers([addr(1), addr(2), addr(3)], "late"), ClientClosedError);
    assert.equal(committed, false);
    assert.deepEqual(
      m.servers.map((s) => s.label),
      ["10.0.0.1:11211", "10.0.0.2:11211"],
    );
  });

  it("a list of hundreds of servers is made and hashed over several turns, and installed in one step", async () => {
    // Made in one turn, a thousand servers stalled every call for a few hundred milliseconds.
    fleet = new FakeFleet([addr(1), addr(2)]);
    const m = fleet.membership;
    const many = Array.from({ length: 250 }, (_, i) => ({
      host: `10.1.${i >> 8}.${i & 255}`,
      port: 11211,
      weight: 1 + (i % 3),
    }));
    let turns = 0;
    let changing = true;
    const tick = () => {
      if (!changing) return;
      turns++;
      // Meanwhile, calls route on the list they had.
      assert.equal(m.homeRing.servers.length, 2, `turn ${turns}: the old list still routes`);
      setImmediate(tick);
    };
    setImmediate(tick);
    const change = await m.setServers(many, "a big list");
    changing = false;
    assert.ok(turns >= 3, `made over ${turns} turns`);
    assert.equal(change.added.length, 250);
    assert.deepEqual(m.homeRing.continuum(), HashRing.of(many).continuum(), "the ring built at once");
    // Back to two: the list is two at once, and the servers it leaves are closed over the next turns.
    const leaving = m.servers.filter((x) => !x.label.startsWith("10.0.0."));
    assert.equal(leaving.length, 250);
    await m.setServers([addr(1), addr(2)], "small again");
    assert.equal(m.homeRing.servers.length, 2);
    assert.ok(
      leaving.some((x) => !x.closed),
      "not all in the commit's turn",
    );
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.ok(
      leaving.every((x) => x.closed),
      "every one closed",
    );
  });

  it("with servers away, a long change makes the live ring a turn before its commit; the change's last turn only reads it", async () => {
    const many = (port: number) =>
      Array.from({ length: 250 }, (_, i) => ({ host: `10.2.${i >> 8}.${i & 255}`, port, weight: 1 }));
    fleet = new FakeFleet(many(11211), { eject: true });
    const m = fleet.membership;
    for (const s of m.servers.slice(0, 200)) s.markDown(down); // most away: the live ring is read
    const without = HashRing.prototype.without;
    const built: string[] = [];
    let phase = "building";
    HashRing.prototype.without = function (this: HashRing, skip: (i: number) => boolean) {
      built.push(phase);
      return without.call(this, skip);
    };
    try {
      m.attach({
        rejoin: async (s) => m.up(s),
        changeList: async (c) => {
          phase = "last turn";
          assert.ok(m.liveRing().size > 0, "the live ring, as the freshness owner reads it");
          assert.equal(c.commit(), true);
        },
      });
      await m.setServers(many(11212), "a new port for every server");
    } finally {
      HashRing.prototype.without = without;
    }
    assert.deepEqual(built, ["building"], "made once, before the last turn");
  });

  it("a close during a long change: the change rejects, the list stays as it was, and every server is closed", async () => {
    fleet = new FakeFleet([addr(1), addr(2)]);
    const m = fleet.membership;
    const many = Array.from({ length: 250 }, (_, i) => ({ host: `10.2.0.${i}`, port: 11211, weight: 1 }));
    const changing = m.setServers(many, "a big list");
    await new Promise((r) => setImmediate(r)); // a hundred made
    const closing = m.close();
    await assert.rejects(changing, ClientClosedError);
    await closing;
    assert.deepEqual(
      m.servers.map((x) => x.label),
      ["10.0.0.1:11211", "10.0.0.2:11211"],
    );
    assert.ok(m.servers.every((x) => x.closed));
  });

  it("close waits for the servers an earlier change left", async () => {
    fleet = new FakeFleet([addr(1), addr(2)]);
    const m = fleet.membership;
    const many = Array.from({ length: 250 }, (_, i) => ({ host: `10.3.0.${i}`, port: 11211, weight: 1 }));
    await m.setServers(many, "a big list");
    const leaving = [...m.servers];
    await m.setServers([addr(1)], "one left");
    await m.close();
    assert.ok(
      leaving.every((x) => x.closed),
      "every server the change left was closed before close resolved",
    );
  });
});
