/**
 * Raw protocol lines on a fresh socket, for tests that look at the server behind the client's back.
 */
import { createConnection } from "node:net";

/** Sends `line` (CRLF added) and resolves with the first reply line (without CRLF). */
export function rawLine(label: string, line: string): Promise<string> {
  const i = label.lastIndexOf(":");
  const s = label.startsWith("/")
    ? createConnection({ path: label })
    : createConnection({ host: label.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(label.slice(i + 1)) });
  return new Promise((resolve, reject) => {
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n");
      if (end >= 0) {
        s.destroy();
        resolve(buf.slice(0, end));
      }
    });
    s.on("error", reject);
    s.write(`${line}\r\n`);
  });
}

/** Remaining TTL of `key` on the server, seconds (-1: never expires), by `mg <key> t`. */
export async function remainingTtl(label: string, key: string): Promise<number> {
  const reply = await rawLine(label, `mg ${key} t`);
  const m = /^HD t(-?\d+)/.exec(reply);
  if (m === null) throw new Error(`mg ${key} t: ${reply}`);
  return Number(m[1]);
}
