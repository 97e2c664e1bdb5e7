/**
 * What the parser property tests and fixture tests of every protocol share: how many runs, how a
 * stream is cut into chunks and fed, how a valid stream is mutated, and the check that a malformed
 * reply is a `ProtocolError` wherever the stream is split.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ProtocolError } from "../../src/errors.ts";

/** Cases per property (`FUZZ_RUNS` runs more). */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** Where to cut a stream into chunks (taken modulo its length). */
export const cutsArb = fc.array(fc.nat(100_000), { maxLength: 12 });

/** A few byte flips, insertions and deletions (positions taken modulo the length). */
export const mutationsArb = fc.array(
  fc.record({ at: fc.nat(100_000), kind: fc.constantFrom("flip", "insert", "delete"), byte: fc.nat(255) }),
  { minLength: 1, maxLength: 5 },
);

/** Feeds `bytes` to `feed` in chunks cut at `cuts`; returns what it threw, or undefined. */
export function feedCut(feed: (chunk: Buffer) => void, bytes: Buffer, cuts: number[]): unknown {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let prev = 0;
  try {
    for (const c of [...points, bytes.length]) {
      if (c > prev) feed(bytes.subarray(prev, c));
      prev = Math.max(prev, c);
    }
  } catch (error) {
    return error;
  }
  return undefined;
}

/** `bytes` with `mutations` applied, in order. */
export function mutate(bytes: Buffer, mutations: { at: number; kind: string; byte: number }[]): Buffer {
  const out = [...bytes];
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    if (m.kind === "flip" && at < out.length) out[at] = m.byte;
    else if (m.kind === "insert") out.splice(at, 0, m.byte);
    else if (at < out.length) out.splice(at, 1);
  }
  return Buffer.from(out);
}

/** Asserts that `wire`, split at every position (and whole), makes a fresh parser throw a ProtocolError. */
export function assertMalformedAtEverySplit(parser: () => { feed(chunk: Buffer): void }, wire: Buffer): void {
  for (let cut = 0; cut < wire.length; cut++) {
    const p = parser();
    assert.throws(
      () => {
        if (cut > 0) p.feed(wire.subarray(0, cut));
        p.feed(wire.subarray(cut));
      },
      (e: unknown) => e instanceof ProtocolError,
      `split at ${cut}`,
    );
  }
}
