/**
 * Runs a suite once per wire protocol: `forEachProtocol((protocol) => { describe(…) })` defines
 * the suites under `meta` and under `binary`, in one test file and one process. Helpers defined
 * outside the callback read the protocol of the suite running now from `current.protocol`.
 */
import { before, describe } from "node:test";
import type { Protocol } from "../../src/index.ts";

export const PROTOCOLS: readonly Protocol[] = ["meta", "binary"];

/** The protocol of the suite that is running. */
export const current: { protocol: Protocol } = { protocol: "meta" };

export function forEachProtocol(fn: (protocol: Protocol) => void): void {
  for (const protocol of PROTOCOLS) {
    describe(protocol, () => {
      before(() => {
        current.protocol = protocol;
      });
      fn(protocol);
    });
  }
}
