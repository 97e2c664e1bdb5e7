/**
 * Runs a suite once per wire protocol: `forEachProtocol((protocol) => { describe(…) })` defines
 * the suites under `meta`, `binary` and `text`, in one test file and one process. Helpers defined
 * outside the callback read the protocol of the suite running now from `current.protocol`.
 */
import { before, describe } from "node:test";
import type { Protocol } from "../../src/index.ts";

export const PROTOCOLS: readonly Protocol[] = ["meta", "binary", "text"];

/** The protocol of the suite that is running. */
export const current: { protocol: Protocol } = { protocol: "meta" };

/** Defines the suites of `fn` once per protocol (of `protocols`, default all). */
export function forEachProtocol(
  fn: (protocol: Protocol) => void,
  protocols: readonly Protocol[] = PROTOCOLS,
): void {
  for (const protocol of protocols) {
    describe(protocol, () => {
      before(() => {
        current.protocol = protocol;
      });
      fn(protocol);
    });
  }
}
