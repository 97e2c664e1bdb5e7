import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { HashRing, ketamaHash } from "../../src/cluster/ketama.ts";
import { md5Words } from "../../src/cluster/md5.ts";
import { NoServersError } from "../../src/errors.ts";

interface Vectors {
  servers: { host: string; port: number; weight: number; id: string }[];
  keys: string[];
  expect: string[];
  key_hash: number[];
  continuum: [number, number][];
}
const load = (name: string): Vectors =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), "utf8"));

for (const file of ["ketama-3.json", "ketama-weighted.json"]) {
  describe(`ketama matches libmemcached: ${file}`, () => {
    const v = load(file);
    const ring = new HashRing(v.servers.map((s) => ({ host: s.host, port: s.port, weight: s.weight })));

    it("the continuum, point for point", () => {
      const got = ring.continuum();
      assert.equal(got.length, v.continuum.length);
      for (let i = 0; i < got.length; i++) {
        assert.deepEqual(got[i], [v.continuum[i]![0], v.servers[v.continuum[i]![1]]!.id], `point ${i}`);
      }
    });

    it(`every key's hash and owner (${v.keys.length} keys: ASCII, UTF-8, 250 bytes)`, () => {
      let wrong = 0;
      for (let i = 0; i < v.keys.length; i++) {
        assert.equal(ketamaHash(v.keys[i]!), v.key_hash[i], `hash of key ${i}`);
        if (ring.serverFor(v.keys[i]!) !== v.expect[i]) wrong++;
        if (ring.servers[ring.ownerIndex(v.keys[i]!)] !== v.expect[i]) wrong++;
        // A Buffer key hashes as its bytes.
        if (i % 97 === 0) assert.equal(ring.serverFor(Buffer.from(v.keys[i]!)), v.expect[i]);
      }
      assert.equal(wrong, 0, `${wrong} keys placed differently from libmemcached`);
    });

    it("serversFor: distinct servers clockwise, owner first", () => {
      for (let i = 0; i < v.keys.length; i += 13) {
        const k = v.keys[i]!;
        const two = ring.serversFor(k, 2);
        assert.equal(two[0], v.expect[i]);
        assert.equal(new Set(two).size, 2);
        assert.deepEqual(
          ring.serversFor(k, 10).sort(),
          v.servers.map((s) => s.id).sort(),
          "capped at all servers",
        );
      }
    });

    it("removing a server moves only its keys (to its successor), adding it back restores all", () => {
      const victim = v.servers[1]!.id;
      const smaller = new HashRing(v.servers.map((s) => ({ host: s.host, port: s.port, weight: s.weight })));
      assert.equal(smaller.remove(victim), true);
      assert.equal(smaller.remove(victim), false);
      for (let i = 0; i < v.keys.length; i++) {
        const k = v.keys[i]!;
        const now = smaller.serverFor(k);
        if (v.expect[i] !== victim) assert.equal(now, v.expect[i], `key ${i} must not move`);
        else assert.notEqual(now, victim);
      }
      smaller.add({ host: v.servers[1]!.host, port: v.servers[1]!.port, weight: v.servers[1]!.weight });
      // Configuration order changed (victim is now last), which only matters for equal-valued points.
      let moved = 0;
      for (let i = 0; i < v.keys.length; i++) if (smaller.serverFor(v.keys[i]!) !== v.expect[i]) moved++;
      assert.equal(moved, 0);
    });
  });
}

describe("HashRing edge cases", () => {
  it("float32 point counts: 7 and 25 equal servers get libmemcached's counts", () => {
    // With float64 arithmetic these counts differ (the vectors README's warning).
    const seven = new HashRing(Array.from({ length: 7 }, (_, i) => `10.0.0.${i + 1}:11211`));
    const twentyFive = new HashRing(Array.from({ length: 25 }, (_, i) => `10.0.1.${i + 1}:11211`));
    const f = Math.fround;
    const expected = (live: number) =>
      Math.floor(f(f(f(f(f(1 / live) * 160) / 4) * live) + f(1e-10))) * 4 * live;
    assert.equal(seven.size, expected(7));
    assert.equal(twentyFive.size, expected(25));
    const float64 = (live: number) => Math.floor((((1 / live) * 160) / 4) * live + 1e-10) * 4 * live;
    assert.ok(expected(7) !== float64(7) || expected(25) !== float64(25), "the case that float64 gets wrong");
  });

  it("the bucketed lookup finds the first point ≥ the hash, as a scan of the continuum does", () => {
    for (const count of [2, 10, 300]) {
      const ring = new HashRing(Array.from({ length: count }, (_, i) => `10.1.${i >> 8}.${i & 255}:11211`));
      const points = ring.continuum();
      const scan = (hash: number) => (points.find(([v]) => v >= hash) ?? points[0]!)[1];
      for (let i = 0; i < 2000; i++) {
        const key = `k${i}:${count}`;
        assert.equal(ring.serverFor(key), scan(ketamaHash(key)), `${key} on ${count} servers`);
      }
    }
  });

  it("one server owns everything; an empty ring is an error", () => {
    const one = new HashRing(["127.0.0.1:11311"]);
    assert.equal(one.serverFor("anything"), "127.0.0.1:11311");
    assert.deepEqual(one.serversFor("x", 3), ["127.0.0.1:11311"]);
    const none = new HashRing();
    assert.throws(() => none.serverFor("x"), NoServersError);
    none.add("127.0.0.1:1");
    assert.equal(none.serverFor("x"), "127.0.0.1:1");
  });
});

describe("md5Words (the ring's MD5)", () => {
  const words = (digest: Buffer) => [0, 4, 8, 12].map((o) => digest.readInt32LE(o));
  const reference = (data: string | Buffer) => words(createHash("md5").update(data).digest());

  it("equals node:crypto's MD5 for every length 0–300: raw bytes, ASCII and UTF-8 strings", () => {
    for (let n = 0; n <= 300; n++) {
      const raw = randomBytes(n);
      assert.deepEqual(Array.from(md5Words(raw)), reference(raw), `${n} random bytes`);
      const ascii = String.fromCharCode(...Array.from({ length: n }, (_, i) => 0x21 + ((i * 7 + n) % 94)));
      assert.deepEqual(Array.from(md5Words(ascii)), reference(ascii), `${n} ASCII chars`);
      // A non-ASCII char at the end leaves the one-block fast path half way through.
      const utf8 = `${"é".repeat(n % 30)}${ascii.slice(0, 40)}€`;
      assert.deepEqual(Array.from(md5Words(utf8)), reference(utf8), `UTF-8 string, ${n}`);
    }
  });

  it("a string and its UTF-8 bytes hash the same; the empty input is MD5's known digest", () => {
    assert.deepEqual(Array.from(md5Words("ключ")), Array.from(md5Words(Buffer.from("ключ"))));
    assert.deepEqual(words(Buffer.from("d41d8cd98f00b204e9800998ecf8427e", "hex")), Array.from(md5Words("")));
  });
});

describe("a ring built in steps (a long server list, over several turns)", () => {
  // 23 servers: points sorted by comparison; 41: by radix (see `point-sort.ts`).
  for (const count of [23, 41]) {
    it(`is the ring built at once, point for point, whatever the step, the weights and the zones: ${count} servers`, () => {
      const addresses = Array.from({ length: count }, (_, i) => ({
        host: `10.0.${i >> 3}.${i}`,
        port: 11211 + (i % 3),
        weight: 1 + (i % 4),
        ...(i % 5 === 0 ? {} : { zone: `z${i % 3}` }),
      }));
      const whole = HashRing.of(addresses);
      for (const step of [1, 2, 3, 7, count - 1, count, 100]) {
        const steps = HashRing.inSteps(addresses, step);
        let yields = 0;
        let r = steps.next();
        while (r.done !== true) {
          yields++;
          r = steps.next();
        }
        const runs = Math.ceil(addresses.length / step);
        assert.ok(
          runs === 1 ? yields === 0 : yields >= runs - 1,
          `step ${step}: ${yields} steps for ${runs} runs`,
        );
        assert.deepEqual(r.value.continuum(), whole.continuum(), `step ${step}`);
        assert.deepEqual(r.value.serversFor("some key", 3), whole.serversFor("some key", 3));
      }
    });
  }
});
