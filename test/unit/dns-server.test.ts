import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { after, before, describe, it } from "node:test";
import { type DnsServer, startDnsServer } from "../support/dns-server.ts";

/** A Resolver (a c-ares channel of its own) asking only `server`. */
function resolver(server: DnsServer, options: { timeout?: number; tries?: number } = {}): Resolver {
  const r = new Resolver({ timeout: 1000, tries: 2, ...options });
  r.setServers([server.address]);
  return r;
}

/** Sends raw bytes and returns the first datagram back, or null after `ms`. */
async function rawQuery(server: DnsServer, packet: Buffer, ms = 300): Promise<Buffer | null> {
  const s = createSocket("udp4");
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), ms);
      s.on("message", (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      s.send(packet, server.port, "127.0.0.1");
    });
  } finally {
    s.close();
  }
}

function question(id: number, name: string, type: number, extra = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(extra.length > 0 ? 1 : 0, 10);
  const labels = name.split(".").flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  return Buffer.concat([h, ...labels, Buffer.from([0, type >> 8, type & 0xff, 0, 1]), extra]);
}

describe("test DNS server", () => {
  let server: DnsServer;
  before(async () => {
    server = await startDnsServer();
  });
  after(() => server.close());

  it("listens on loopback with a real port", () => {
    assert.ok(server.port > 0);
    assert.equal(server.address, `127.0.0.1:${server.port}`);
  });

  it("answers A, AAAA and SRV through a real Resolver", async () => {
    server.set("a.test", { A: ["10.0.0.1", "10.0.0.2"], AAAA: ["2001:db8::1", "::ffff:10.0.0.3"] });
    server.set("_memcache._tcp.svc.test", {
      SRV: [
        { priority: 10, weight: 5, port: 11211, target: "a.test" },
        { priority: 20, weight: 0, port: 11212, target: "b.test." },
      ],
    });
    const r = resolver(server);
    assert.deepEqual((await r.resolve4("a.test")).sort(), ["10.0.0.1", "10.0.0.2"]);
    assert.deepEqual((await r.resolve6("a.test")).sort(), ["2001:db8::1", "::ffff:10.0.0.3"]);
    const srv = await r.resolveSrv("_memcache._tcp.svc.test");
    assert.deepEqual(
      // Only the record's fields: Node 26 adds `type: "SRV"` to each.
      srv
        .sort((x, y) => x.priority - y.priority)
        .map(({ priority, weight, port, name }) => ({ priority, weight, port, name })),
      [
        { priority: 10, weight: 5, port: 11211, name: "a.test" },
        { priority: 20, weight: 0, port: 11212, name: "b.test" },
      ],
    );
  });

  it("gives the TTL of 1 s", async () => {
    server.set("ttl.test", { A: ["10.1.1.1"] });
    assert.deepEqual(await resolver(server).resolve4("ttl.test", { ttl: true }), [
      { address: "10.1.1.1", ttl: 1 },
    ]);
  });

  it("encodes every IPv6 text form", async () => {
    const forms = ["::", "::1", "fe80::", "1:2:3:4:5:6:7:8", "1::8", "2001:db8:0:0:1::1", "::ffff:1.2.3.4"];
    server.set("v6.test", { AAAA: forms });
    const got = await resolver(server).resolve6("v6.test");
    // c-ares prints them back in canonical form: compare the sets after the same normalisation.
    const canon = (a: string) => new URL(`http://[${a}]/`).hostname;
    assert.deepEqual(got.map(canon).sort(), forms.map(canon).sort());
  });

  it("matches names case-insensitively, with or without the trailing dot", async () => {
    server.set("Mixed.Case.TEST.", { A: ["10.2.2.2"] });
    assert.deepEqual(await resolver(server).resolve4("mixed.case.test"), ["10.2.2.2"]);
    assert.deepEqual(await resolver(server).resolve4("MIXED.case.Test"), ["10.2.2.2"]);
  });

  it("unknown names get NXDOMAIN (ENOTFOUND)", async () => {
    await assert.rejects(resolver(server).resolve4("nothing.test"), { code: "ENOTFOUND" });
  });

  it("a known name without records of the type gets NOERROR and no answers (ENODATA)", async () => {
    server.set("only-a.test", { A: ["10.3.3.3"] });
    await assert.rejects(resolver(server).resolve6("only-a.test"), { code: "ENODATA" });
    await assert.rejects(resolver(server).resolveSrv("only-a.test"), { code: "ENODATA" });
  });

  it("changes made by set and remove are seen by the next query", async () => {
    server.set("moving.test", { A: ["10.4.4.1"] });
    assert.deepEqual(await resolver(server).resolve4("moving.test"), ["10.4.4.1"]);
    server.set("moving.test", { A: ["10.4.4.2"] });
    assert.deepEqual(await resolver(server).resolve4("moving.test"), ["10.4.4.2"]);
    server.remove("moving.test");
    await assert.rejects(resolver(server).resolve4("moving.test"), { code: "ENOTFOUND" });
  });

  it("one Resolver sees a change at once: Node runs c-ares without its query cache", async () => {
    // Node 20 builds its channels with c-ares's query cache off (qcache_max_ttl 0), so the TTL does
    // not hold an old answer back. Should a Node upgrade turn it on, this is where it shows.
    const r = resolver(server);
    server.set("cached.test", { A: ["10.5.5.1"] });
    assert.deepEqual(await r.resolve4("cached.test"), ["10.5.5.1"]);
    server.set("cached.test", { A: ["10.5.5.2"] });
    assert.deepEqual(await r.resolve4("cached.test"), ["10.5.5.2"]);
    server.remove("cached.test");
    await assert.rejects(r.resolve4("cached.test"), { code: "ENOTFOUND" });
  });

  it("silence(true) makes queries time out (ETIMEOUT); silence(false) brings answers back", async () => {
    server.set("quiet.test", { A: ["10.6.6.6"] });
    server.silence(true);
    try {
      const before = server.queries;
      await assert.rejects(resolver(server, { timeout: 200, tries: 1 }).resolve4("quiet.test"), {
        code: "ETIMEOUT",
      });
      assert.ok(server.queries > before, "the query still reached the server");
    } finally {
      server.silence(false);
    }
    assert.deepEqual(await resolver(server).resolve4("quiet.test"), ["10.6.6.6"]);
  });

  it("counts queries of every type", async () => {
    server.set("count.test", { A: ["10.7.7.7"] });
    const before = server.queries;
    const r = resolver(server);
    await r.resolve4("count.test");
    await assert.rejects(r.resolveSrv("count.test"), { code: "ENODATA" });
    await assert.rejects(r.resolveTxt("count.test"), { code: "ENODATA" });
    assert.equal(server.queries - before, 3);
  });

  it("answers a raw query: same ID, QR, AA, RD copied, question echoed, no additional records", async () => {
    server.set("raw.test", { A: ["192.0.2.7"] });
    // An EDNS OPT record in the additional section, as c-ares sends it.
    const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    const q = question(0xbeef, "raw.test", 1, opt);
    const a = await rawQuery(server, q);
    assert.ok(a);
    assert.equal(a.readUInt16BE(0), 0xbeef);
    assert.equal(a.readUInt16BE(2), 0x8000 | 0x0400 | 0x0100);
    const counts = [4, 6, 8, 10].map((at) => a.readUInt16BE(at));
    assert.deepEqual(counts, [1, 1, 0, 0], "QD, AN, NS, AR");
    const qEnd = 12 + "raw.test".length + 2 + 4;
    assert.deepEqual(a.subarray(12, qEnd), q.subarray(12, qEnd));
    assert.deepEqual([...a.subarray(a.length - 4)], [192, 0, 2, 7]);
    assert.equal(a.readUInt32BE(a.length - 10), 1, "TTL");
  });

  it("NXDOMAIN and NOERROR/no-data raw answers carry the right RCODE", async () => {
    const nx = await rawQuery(server, question(1, "absent.test", 1));
    assert.equal(nx!.readUInt16BE(2) & 0xf, 3);
    assert.equal(nx!.readUInt16BE(6), 0);
    server.set("nodata.test", {});
    const nd = await rawQuery(server, question(2, "nodata.test", 28));
    assert.equal(nd!.readUInt16BE(2) & 0xf, 0);
    assert.equal(nd!.readUInt16BE(6), 0);
  });

  it("ignores malformed packets and responses", async () => {
    const before = server.queries;
    assert.equal(await rawQuery(server, Buffer.from([1, 2, 3]), 100), null);
    const truncated = question(3, "raw.test", 1).subarray(0, 20);
    assert.equal(await rawQuery(server, truncated, 100), null);
    const response = question(4, "raw.test", 1);
    response.writeUInt16BE(0x8000, 2);
    assert.equal(await rawQuery(server, response, 100), null);
    assert.equal(server.queries, before);
  });

  it("rejects records it could not encode", () => {
    assert.throws(() => server.set("bad.test", { A: ["300.1.1.1"] }), TypeError);
    assert.throws(() => server.set("bad.test", { AAAA: ["1:::2"] }), TypeError);
    assert.throws(() => server.set(`${"x".repeat(64)}.test`, { A: ["10.0.0.1"] }), RangeError);
  });
});
