/**
 * A reference encoder and decoder of mcrouter's BigValueRoute format, written from mcrouter's source
 * (facebook/mcrouter `mcrouter/routes/BigValueRoute-inl.h`, `BigValueRoute.cpp`, `lib/mc/msg.h`) and
 * independent of memcachio's implementation, to check that each reads what the other writes.
 *
 * Write (`route` of update requests, `chunkUpdateRequests`): a value over `split_threshold` bytes is
 * cut into `ceil(size / threshold)` pieces; piece `i` is set under `fmt("{}:{}:{}", key, i, suffix)`
 * with the request's exptime and flags; then, only if every piece was stored, the key is set to
 * `fmt("{}-{}-{}", 1, numChunks, suffix)` with `flags | MC_MSG_FLAG_BIG_VALUE` (0x8000).
 * Read (`route` of get requests, `ChunksInfo`, `parseChunksInfo`, `mergeChunkGetReplies`): a reply
 * without the flag is returned as it is; with it, the value must split on '-' into exactly three
 * unsigned decimals (u32 version, u32 count, u64 suffix) with version 1, else a miss; each piece is
 * fetched, and any piece that is not a hit makes the read a miss; the value is the pieces joined,
 * with the index reply's flags (the bit cleared when `hide_reply_flag` is set).
 */
import { createHash } from "node:crypto";

/** `MC_MSG_FLAG_BIG_VALUE` (mcrouter/lib/mc/msg.h). */
export const MC_MSG_FLAG_BIG_VALUE = 0x8000;

/** One item to store. */
export interface RefItem {
  key: string;
  value: Buffer;
  flags: number;
}

/**
 * mcrouter's suffix is the low 32 bits of SpookyHashV2 of the value (`hashBigValue`); any u32 names
 * the pieces as well, so this stands in with the low 32 bits of SHA-256.
 */
export function refSuffix(value: Buffer): bigint {
  return createHash("sha256").update(value).digest().readBigUInt64LE(0) & 0xffff_ffffn;
}

/** The items mcrouter stores for `value`: the pieces in order, the index item last. */
export function refEncode(
  key: string,
  value: Buffer,
  flags: number,
  threshold: number,
  suffix = refSuffix(value),
): RefItem[] {
  if (value.length <= threshold) return [{ key, value, flags }];
  const numChunks = Math.ceil(value.length / threshold);
  const items: RefItem[] = [];
  for (let i = 0; i < numChunks; i++) {
    items.push({
      key: `${key}:${i}:${suffix}`,
      value: value.subarray(i * threshold, Math.min((i + 1) * threshold, value.length)),
      flags,
    });
  }
  items.push({ key, value: Buffer.from(`1-${numChunks}-${suffix}`), flags: flags | MC_MSG_FLAG_BIG_VALUE });
  return items;
}

/** `parseChunksInfo` + the version check: numChunks and suffix, or null. */
export function refParseIndex(value: Buffer): { numChunks: number; suffix: bigint } | null {
  const fields = value.toString("latin1").split("-");
  if (fields.length !== 3 || !fields.every((f) => /^\d+$/.test(f))) return null;
  const [version, numChunks, suffix] = fields.map((f) => BigInt(f)) as [bigint, bigint, bigint];
  if (version > 0xffff_ffffn || numChunks > 0xffff_ffffn || suffix > 0xffff_ffff_ffff_ffffn) return null;
  if (version !== 1n) return null;
  return { numChunks: Number(numChunks), suffix };
}

/**
 * What a get through mcrouter returns for `key`, reading items with `get`: the value and flags, or
 * undefined on a miss.
 */
export async function refDecode(
  key: string,
  get: (key: string) => Promise<{ value: Buffer; flags: number } | undefined>,
  hideReplyFlag = true,
): Promise<{ value: Buffer; flags: number } | undefined> {
  const first = await get(key);
  if (first === undefined || (first.flags & MC_MSG_FLAG_BIG_VALUE) === 0) return first;
  const info = refParseIndex(first.value);
  if (info === null) return undefined;
  const pieces: Buffer[] = [];
  for (let i = 0; i < info.numChunks; i++) {
    const piece = await get(`${key}:${i}:${info.suffix}`);
    if (piece === undefined) return undefined;
    pieces.push(piece.value);
  }
  const flags = hideReplyFlag ? first.flags ^ MC_MSG_FLAG_BIG_VALUE : first.flags;
  return { value: Buffer.concat(pieces), flags };
}
