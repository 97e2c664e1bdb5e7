/**
 * The cluster configuration an ElastiCache (memcached engine) or Memorystore configuration endpoint
 * serves: the reply to `config get cluster`, or on engines before 1.4.14 the item
 * `AmazonElastiCache:cluster`:
 *
 *   CONFIG cluster 0 <bytes>\r\n                 (or VALUE AmazonElastiCache:cluster 0 <bytes>\r\n)
 *   <version>\n
 *   <host>|<ip>|<port> <host>|<ip>|<port> …\n
 *   \r\n
 *   END\r\n
 *
 * The version rises when the membership changes. The block is read up to its closing `END` line
 * rather than by `<bytes>` alone: published examples of this reply disagree with their own counts.
 */
import { ProtocolError } from "../errors.js";

/** A host name as a DNS name can be (RFC 1123 labels, dots between them, an optional final dot). */
const HOST_NAME =
  /^(?=.{1,253}\.?$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

/** A node of the cluster. */
export interface ClusterNode {
  /** Its DNS name (what a TLS certificate names). */
  host: string;
  /** Its IP address (what to connect to); empty when the endpoint gave none. */
  ip: string;
  port: number;
}

/** A parsed configuration reply. */
export type ClusterConfigReply =
  | { kind: "incomplete" }
  /** An error line: `ERROR` (the command is unknown: an older engine), `SERVER_ERROR …`, … */
  | { kind: "error"; line: string }
  | { kind: "config"; version: number; nodes: ClusterNode[] };

const HEADER = /^(?:CONFIG cluster|VALUE AmazonElastiCache:cluster) \d+ (\d+)$/;
const TRAILER = "\r\nEND\r\n";

/**
 * Reads a configuration reply from the bytes received so far (`text`, latin1). `isIp` tells an IPv4 or
 * IPv6 literal (`net.isIP`; this layer does not reach the network modules).
 */
export function readClusterConfig(text: string, isIp: (s: string) => boolean): ClusterConfigReply {
  const eol = text.indexOf("\r\n");
  if (eol < 0)
    return text.length > 4096 ? malformed("no line end in the first 4 KiB") : { kind: "incomplete" };
  const header = text.slice(0, eol);
  if (header === "END") return malformed("the endpoint has no cluster configuration (END)");
  if (!HEADER.test(header)) {
    if (/^(ERROR|SERVER_ERROR|CLIENT_ERROR)\b/.test(header)) return { kind: "error", line: header };
    return malformed(`unexpected reply line ${JSON.stringify(header.slice(0, 80))}`);
  }
  if (!text.endsWith(TRAILER)) return { kind: "incomplete" };
  const block = text.slice(eol + 2, text.length - TRAILER.length);
  const lines = block.split("\n");
  if (lines[lines.length - 1] === "" || lines[lines.length - 1] === "\r") lines.pop();
  if (lines.length !== 2)
    return malformed(`expected a version line and a node line, got ${lines.length} lines`);
  const versionText = lines[0]!.trim();
  if (!/^\d+$/.test(versionText)) return malformed(`bad config version ${JSON.stringify(versionText)}`);
  const nodes: ClusterNode[] = [];
  for (const entry of lines[1]!.trim().split(" ")) {
    if (entry === "") continue;
    const parts = entry.split("|");
    const port = /^\d{1,5}$/.test(parts[2] ?? "") ? Number(parts[2]) : Number.NaN;
    const bad = (why: string) => malformed(`bad node ${JSON.stringify(entry.slice(0, 120))}: ${why}`);
    if (parts.length !== 3) bad("expected host|ip|port");
    if (!HOST_NAME.test(parts[0]!) && !isIp(parts[0]!))
      bad("its host is neither a host name nor an IP address");
    if (parts[1] !== "" && !isIp(parts[1]!)) bad("its IP field is not an IPv4 or IPv6 address");
    if (!(port > 0 && port < 65536)) bad("its port is not from 1 to 65535");
    nodes.push({ host: parts[0]!, ip: parts[1]!, port });
  }
  return { kind: "config", version: Number(versionText), nodes };
}

function malformed(why: string): never {
  throw new ProtocolError(`malformed cluster configuration: ${why}`);
}
