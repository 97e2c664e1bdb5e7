/**
 * A fake AWS ElastiCache (memcached engine) configuration endpoint on loopback TCP, for tests of
 * cluster auto-discovery. It speaks AWS's wire format byte for byte:
 *
 *   config get cluster\r\n
 *   CONFIG cluster 0 <bytes>\r\n<version>\n<host>|<ip>|<port> <host>|<ip>|<port>\n\r\nEND\r\n
 *
 * where <bytes> counts the data block `<version>\n<nodes>\n`. Engines before 1.4.14 (`legacy`) answer
 * `config get cluster` with ERROR and keep the same block in the item `AmazonElastiCache:cluster`,
 * which newer engines still serve too. `mode` breaks the config replies on purpose.
 */
import { createServer, type Server, type Socket } from "node:net";
import { eachLine } from "./lines.ts";

export interface ClusterNode {
  host: string;
  ip: string;
  port: number;
}

/** ok; zero-nodes: an empty node line; malformed: right byte count, no node in it; error: SERVER_ERROR. */
export type EndpointMode = "ok" | "malformed" | "zero-nodes" | "error";

export interface DiscoveryEndpoint {
  readonly port: number;
  /** "127.0.0.1:<port>" */
  readonly address: string;
  /** Sets the nodes; the config version rises by one (unless `version` is given). */
  setNodes(nodes: ClusterNode[], version?: number): void;
  readonly version: number;
  mode: EndpointMode;
  /** Engine before 1.4.14: `config get cluster` answers ERROR, and the config is the item `AmazonElastiCache:cluster`. */
  legacy: boolean;
  /** Requests received (each command line). */
  readonly requests: number;
  /** Closes the listener and destroys open sockets. */
  close(): Promise<void>;
}

const LEGACY_KEY = "AmazonElastiCache:cluster";

class FakeConfigEndpoint implements DiscoveryEndpoint {
  mode: EndpointMode = "ok";
  legacy: boolean;
  port = 0;
  #requests = 0;
  #version = 1;
  #nodes: ClusterNode[];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(nodes: ClusterNode[], legacy: boolean) {
    this.#nodes = copy(nodes);
    this.legacy = legacy;
    this.#server = createServer((s) => this.#accept(s));
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get version(): number {
    return this.#version;
  }

  get requests(): number {
    return this.#requests;
  }

  setNodes(nodes: ClusterNode[], version?: number): void {
    this.#nodes = copy(nodes);
    this.#version = version ?? this.#version + 1;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    const a = this.#server.address();
    this.port = typeof a === "object" && a !== null ? a.port : 0;
    return this;
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(s: Socket): void {
    this.#sockets.add(s);
    s.on("close", () => this.#sockets.delete(s));
    s.on("error", () => {});
    eachLine(s, (line) => {
      this.#requests++;
      s.write(this.#answer(line), "latin1");
    });
  }

  #answer(line: string): string {
    const words = line.split(" ").filter((w) => w !== "");
    const command = words.join(" ");
    if (command === "config get cluster") {
      if (this.legacy) return "ERROR\r\n";
      return this.#config((block) => `CONFIG cluster 0 ${block.length}\r\n${block}\r\nEND\r\n`);
    }
    if (command === `get ${LEGACY_KEY}`) {
      return this.#config((block) => `VALUE ${LEGACY_KEY} 0 ${block.length}\r\n${block}\r\nEND\r\n`);
    }
    if (command === "version") return "VERSION 1.6.18\r\n";
    if (command === "mn") return "MN\r\n";
    return "ERROR\r\n";
  }

  /** The config reply `frame` wraps around the data block, as `mode` wants it. */
  #config(frame: (block: string) => string): string {
    if (this.mode === "error") return "SERVER_ERROR unavailable\r\n";
    const nodes =
      this.mode === "zero-nodes"
        ? ""
        : this.mode === "malformed"
          ? "not-a-node"
          : this.#nodes.map((n) => `${n.host}|${n.ip}|${n.port}`).join(" ");
    // Host names and IPs are ASCII, so string length is the byte count.
    return frame(`${this.#version}\n${nodes}\n`);
  }
}

export function startDiscoveryEndpoint(
  nodes: ClusterNode[],
  options: { legacy?: boolean } = {},
): Promise<DiscoveryEndpoint> {
  return new FakeConfigEndpoint(nodes, options.legacy ?? false).listen();
}

function copy(nodes: ClusterNode[]): ClusterNode[] {
  return nodes.map((n) => ({ ...n }));
}
