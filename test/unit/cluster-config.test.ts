import assert from "node:assert/strict";
import { isIP } from "node:net";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/errors.ts";
import { readClusterConfig } from "../../src/protocol/cluster-config.ts";

const read = (text: string) => readClusterConfig(text, (s) => isIP(s) !== 0);

const NODES =
  "myCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211";
const block = `12\n${NODES}\n`;
const MODERN = `CONFIG cluster 0 ${block.length}\r\n${block}\r\nEND\r\n`;
const LEGACY = `VALUE AmazonElastiCache:cluster 0 ${block.length}\r\n${block}\r\nEND\r\n`;
const EXPECTED = {
  kind: "config",
  version: 12,
  nodes: [
    { host: "myCluster.pc4ldq.0001.use1.cache.amazonaws.com", ip: "10.82.235.120", port: 11211 },
    { host: "myCluster.pc4ldq.0002.use1.cache.amazonaws.com", ip: "10.80.249.27", port: 11211 },
  ],
};

describe("cluster configuration reply", () => {
  for (const [name, reply] of [
    ["config get cluster", MODERN],
    ["legacy item", LEGACY],
  ] as const) {
    it(`${name}: parsed whole, and incomplete at every shorter prefix`, () => {
      assert.deepEqual(read(reply), EXPECTED);
      for (let i = 0; i < reply.length; i++) {
        assert.deepEqual(read(reply.slice(0, i)), { kind: "incomplete" }, `prefix ${i}`);
      }
    });
  }

  it("takes AWS's published example, whose byte count disagrees with its block", () => {
    const published = `CONFIG cluster 0 147\r\n${block}\r\nEND\r\n`;
    assert.deepEqual(read(published), EXPECTED);
  });

  it("a reply with no node is a configuration with no node (the caller keeps its list)", () => {
    assert.deepEqual(read("CONFIG cluster 0 3\r\n7\n\n\r\nEND\r\n"), {
      kind: "config",
      version: 7,
      nodes: [],
    });
  });

  it("error lines are reported as such (ERROR: an engine before 1.4.14)", () => {
    assert.deepEqual(read("ERROR\r\n"), { kind: "error", line: "ERROR" });
    assert.deepEqual(read("SERVER_ERROR busy\r\n"), {
      kind: "error",
      line: "SERVER_ERROR busy",
    });
  });

  for (const [what, reply] of [
    ["a node without fields", "CONFIG cluster 0 11\r\n1\nnot-a-node\n\r\nEND\r\n"],
    ["a bad port", "CONFIG cluster 0 16\r\n1\nh|10.0.0.1|0\n\r\nEND\r\n"],
    ["a bad version", "CONFIG cluster 0 16\r\nx\nh|10.0.0.1|1\n\r\nEND\r\n"],
    ["a missing node line", "CONFIG cluster 0 2\r\n1\n\r\nEND\r\n"],
    ["an unknown reply", "VALUE other 0 1\r\nx\r\nEND\r\n"],
    ["a bare END (no configuration)", "END\r\n"],
  ] as const) {
    it(`${what} is a ProtocolError`, () => {
      assert.throws(() => read(reply), ProtocolError);
    });
  }

  // Each field of a node is checked: one bad node makes the whole reply malformed (the list is kept).
  for (const [what, node, why] of [
    ["an IP field that is not an IP", "bogus|not-an-ip|11211", /its IP field is not an IPv4 or IPv6 address/],
    ["a host that is no host name", "bad_host!|10.0.0.1|11211", /its host is neither a host name nor an IP/],
    ["a port with trailing junk", "h|10.0.0.1|11211x", /its port is not from 1 to 65535/],
    ["a port over 65535", "h|10.0.0.1|70000", /its port is not from 1 to 65535/],
    ["a fourth field", "h|10.0.0.1|1|x", /expected host\|ip\|port/],
  ] as const) {
    it(`a node with ${what} makes the reply a ProtocolError that names it`, () => {
      const block = `1\ngood.test|10.0.0.1|11211 ${node}\n`;
      assert.throws(() => read(`CONFIG cluster 0 ${block.length}\r\n${block}\r\nEND\r\n`), why);
    });
  }

  it("IPv6 addresses and host names as ElastiCache sends them are taken", () => {
    const block = "3\nnode-1.abc.cfg.use1.cache.amazonaws.com|2001:db8::1|11211 10.0.0.2||11212\n";
    const reply = read(`CONFIG cluster 0 ${block.length}\r\n${block}\r\nEND\r\n`);
    assert.deepEqual(reply, {
      kind: "config",
      version: 3,
      nodes: [
        { host: "node-1.abc.cfg.use1.cache.amazonaws.com", ip: "2001:db8::1", port: 11211 },
        { host: "10.0.0.2", ip: "", port: 11212 },
      ],
    });
  });

  it("a reply with no line end is not read forever", () => {
    assert.throws(() => read("x".repeat(5000)), ProtocolError);
  });
});
