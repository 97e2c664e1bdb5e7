import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "../../src/errors.ts";
import { readClusterConfig } from "../../src/protocol/cluster-config.ts";

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
      assert.deepEqual(readClusterConfig(reply), EXPECTED);
      for (let i = 0; i < reply.length; i++) {
        assert.deepEqual(readClusterConfig(reply.slice(0, i)), { kind: "incomplete" }, `prefix ${i}`);
      }
    });
  }

  it("takes AWS's published example, whose byte count disagrees with its block", () => {
    const published = `CONFIG cluster 0 147\r\n${block}\r\nEND\r\n`;
    assert.deepEqual(readClusterConfig(published), EXPECTED);
  });

  it("a reply with no node is a configuration with no node (the caller keeps its list)", () => {
    assert.deepEqual(readClusterConfig("CONFIG cluster 0 3\r\n7\n\n\r\nEND\r\n"), {
      kind: "config",
      version: 7,
      nodes: [],
    });
  });

  it("error lines are reported as such (ERROR: an engine before 1.4.14)", () => {
    assert.deepEqual(readClusterConfig("ERROR\r\n"), { kind: "error", line: "ERROR" });
    assert.deepEqual(readClusterConfig("SERVER_ERROR busy\r\n"), {
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
      assert.throws(() => readClusterConfig(reply), ProtocolError);
    });
  }

  it("a reply with no line end is not read forever", () => {
    assert.throws(() => readClusterConfig("x".repeat(5000)), ProtocolError);
  });
});
