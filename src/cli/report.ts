/**
 * Exit codes and the one-line form of what the CLI prints (the Nagios plugin conventions); a client
 * of one server at a time.
 */

import { Client } from "../client.js";
import type { ClientOptions } from "../options.js";

/** All up (and none slow). */
export const OK = 0;
/** Some down, or slow. */
export const WARNING = 1;
/** None up. */
export const CRITICAL = 2;
/** Bad usage, or an answer the CLI cannot judge. */
export const UNKNOWN = 3;

/**
 * `text` fit for one status line: control characters (the trailing newline of OpenSSL's messages)
 * become spaces, and `|`, where a monitor reads the performance data from, becomes `/`.
 */
export function oneLine(text: string): string {
  return text
    .replace(/\p{Cc}+/gu, " ")
    .replace(/\|/g, "/")
    .replace(/ {2,}/g, " ")
    .trim();
}

/** The message of a thrown value, on one line. */
export function reasonOf(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}

/** Runs `use` on a client of the server at `label` alone (a fresh connection), closed afterwards. */
export async function withServer<T>(
  label: string,
  options: Partial<ClientOptions>,
  use: (mc: Client) => Promise<T>,
): Promise<T> {
  const mc = new Client({ ...options, servers: [label] });
  try {
    return await use(mc);
  } finally {
    await mc.close();
  }
}
