import assert from "node:assert/strict";
import { once } from "node:events";
import { createConnection, type Socket } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  type ClusterNode,
  type DiscoveryEndpoint,
  startDiscoveryEndpoint,
} from "../support/discovery-endpoint.ts";

/** A raw socket that keeps everything it receives, read by `take`. */
class Raw {
  #buf = "";
  #waiter: (() => void) | null = null;

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.#buf += d.toString("latin1");
      this.#waiter?.();
    });
  }

  static async open(ep: DiscoveryEndpoint): Promise<Raw> {
    const s = createConnection({ host: "127.0.0.1", port: ep.port });
    await once(s, "connect");
    s.setNoDelay(true);
    return new Raw(s);
  }

  write(text: string): void {
    this.socket.write(text, "latin1");
  }

  /** Waits until the received bytes end with `terminator` `times` times over, and returns them all. */
  async take(terminator: string, times = 1): Promise<string> {
    const deadline = Date.now() + 2000;
    while (this.#buf.split(terminator).length - 1 < times || !this.#buf.endsWith(terminator)) {
      if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(terminator)} in: ${this.#buf}`);
      await new Promise<void>((r) => {
        this.#waiter = r;
        setTimeout(r, 50);
      });
    }
    const out = this.#buf;
    this.#buf = "";
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

const NODES: ClusterNode[] = [
  { host: "mc-1.test", ip: "127.0.0.1", port: 11211 },
  { host: "mc-2.test", ip: "127.0.0.2", port: 11212 },
];
const BLOCK = "1\nmc-1.test|127.0.0.1|11211 mc-2.test|127.0.0.2|11212\n";

describe("fake ElastiCache configuration endpoint", () => {
  let ep: DiscoveryEndpoint;
  let raw: Raw;
  before(async () => {
    ep = await startDiscoveryEndpoint(NODES);
  });
  beforeEach(async () => {
    ep.setNodes(NODES, 1);
    ep.mode = "ok";
    ep.legacy = false;
    raw?.close();
    raw = await Raw.open(ep);
  });
  after(async () => {
    raw.close();
    await ep.close();
  });

  it("listens on loopback and starts at version 1", () => {
    assert.ok(ep.port > 0);
    assert.equal(ep.address, `127.0.0.1:${ep.port}`);
    assert.equal(ep.version, 1);
  });

  it("answers config get cluster in AWS's exact format", async () => {
    raw.write("config get cluster\r\n");
    assert.equal(await raw.take("END\r\n"), `CONFIG cluster 0 ${BLOCK.length}\r\n${BLOCK}\r\nEND\r\n`);
    assert.equal(BLOCK.length, 54);
  });

  it("counts the version line and the node line, both \\n-terminated, in <bytes> (AWS doc example)", async () => {
    ep.setNodes(
      [
        { host: "myCluster.pc4ldq.0001.use1.cache.amazonaws.com", ip: "10.82.235.120", port: 11211 },
        { host: "myCluster.pc4ldq.0002.use1.cache.amazonaws.com", ip: "10.80.249.27", port: 11211 },
      ],
      12,
    );
    raw.write("config get cluster\r\n");
    // AWS's page prints 147 for this reply; the block really is 136 bytes, which is what we send.
    assert.equal(
      await raw.take("END\r\n"),
      "CONFIG cluster 0 136\r\n12\n" +
        "myCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 " +
        "myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n\r\nEND\r\n",
    );
  });

  it("setNodes raises the version by one, or sets the one given", async () => {
    ep.setNodes([NODES[0]!]);
    assert.equal(ep.version, 2);
    raw.write("config get cluster\r\n");
    const block = "2\nmc-1.test|127.0.0.1|11211\n";
    assert.equal(await raw.take("END\r\n"), `CONFIG cluster 0 ${block.length}\r\n${block}\r\nEND\r\n`);
    ep.setNodes(NODES);
    assert.equal(ep.version, 3);
    ep.setNodes(NODES, 40);
    assert.equal(ep.version, 40);
  });

  it("keeps its own copy of the nodes", async () => {
    const nodes = NODES.map((n) => ({ ...n }));
    ep.setNodes(nodes, 1);
    nodes[0]!.port = 1;
    raw.write("config get cluster\r\n");
    assert.equal(await raw.take("END\r\n"), `CONFIG cluster 0 ${BLOCK.length}\r\n${BLOCK}\r\nEND\r\n`);
  });

  it("serves the legacy item in modern mode too", async () => {
    raw.write("get AmazonElastiCache:cluster\r\n");
    assert.equal(
      await raw.take("END\r\n"),
      `VALUE AmazonElastiCache:cluster 0 ${BLOCK.length}\r\n${BLOCK}\r\nEND\r\n`,
    );
  });

  it("legacy: config get cluster is an ERROR, the item carries the config", async () => {
    ep.legacy = true;
    raw.write("config get cluster\r\n");
    assert.equal(await raw.take("\r\n"), "ERROR\r\n");
    raw.write("get AmazonElastiCache:cluster\r\n");
    assert.equal(
      await raw.take("END\r\n"),
      `VALUE AmazonElastiCache:cluster 0 ${BLOCK.length}\r\n${BLOCK}\r\nEND\r\n`,
    );
  });

  it("legacy can be chosen at start", async () => {
    const old = await startDiscoveryEndpoint(NODES, { legacy: true });
    const r = await Raw.open(old);
    try {
      assert.equal(old.legacy, true);
      r.write("config get cluster\r\n");
      assert.equal(await r.take("\r\n"), "ERROR\r\n");
    } finally {
      r.close();
      await old.close();
    }
  });

  it("answers version, mn, and ERROR to anything else", async () => {
    raw.write("version\r\n");
    assert.equal(await raw.take("\r\n"), "VERSION 1.6.18\r\n");
    raw.write("mn\r\n");
    assert.equal(await raw.take("\r\n"), "MN\r\n");
    raw.write("get other\r\n");
    assert.equal(await raw.take("\r\n"), "ERROR\r\n");
    raw.write("config get other\r\n");
    assert.equal(await raw.take("\r\n"), "ERROR\r\n");
  });

  it("answers pipelined requests in order", async () => {
    const before = ep.requests;
    raw.write("version\r\nconfig get cluster\r\nmn\r\n");
    assert.equal(
      await raw.take("MN\r\n"),
      `VERSION 1.6.18\r\nCONFIG cluster 0 ${BLOCK.length}\r\n${BLOCK}\r\nEND\r\nMN\r\n`,
    );
    assert.equal(ep.requests - before, 3);
  });

  it("buffers a request split across chunks, even between \\r and \\n", async () => {
    const before = ep.requests;
    for (const piece of ["con", "fig get clu", "ster\r", "\n"]) {
      raw.write(piece);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await raw.take("END\r\n"), `CONFIG cluster 0 ${BLOCK.length}\r\n${BLOCK}\r\nEND\r\n`);
    assert.equal(ep.requests - before, 1);
  });

  it("zero-nodes: a well-formed reply with an empty node line", async () => {
    ep.mode = "zero-nodes";
    raw.write("config get cluster\r\n");
    assert.equal(await raw.take("END\r\n"), "CONFIG cluster 0 3\r\n1\n\n\r\nEND\r\n");
    ep.legacy = true;
    raw.write("get AmazonElastiCache:cluster\r\n");
    assert.equal(await raw.take("END\r\n"), "VALUE AmazonElastiCache:cluster 0 3\r\n1\n\n\r\nEND\r\n");
  });

  it("malformed: the byte count is right, the node line holds no node", async () => {
    ep.mode = "malformed";
    raw.write("config get cluster\r\n");
    const block = "1\nnot-a-node\n";
    assert.equal(await raw.take("END\r\n"), `CONFIG cluster 0 ${block.length}\r\n${block}\r\nEND\r\n`);
  });

  it("error: SERVER_ERROR to config requests, the rest still answered", async () => {
    ep.mode = "error";
    raw.write("config get cluster\r\nget AmazonElastiCache:cluster\r\nversion\r\n");
    assert.equal(
      await raw.take("\r\n", 3),
      "SERVER_ERROR unavailable\r\nSERVER_ERROR unavailable\r\nVERSION 1.6.18\r\n",
    );
  });

  it("close destroys open sockets", async () => {
    const other = await startDiscoveryEndpoint(NODES);
    const r = await Raw.open(other);
    r.write("version\r\n");
    await r.take("\r\n");
    const closed = once(r.socket, "close");
    await other.close();
    await closed;
  });
});
