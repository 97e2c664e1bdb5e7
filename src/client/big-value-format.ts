/**
 * The stored form of a big value: mcrouter's BigValueRoute format, so that what memcachio splits
 * mcrouter joins, and the reverse. Read from facebook/mcrouter (`mcrouter/routes/BigValueRoute-inl.h`,
 * `BigValueRoute.h`, `BigValueRoute.cpp`, `mcrouter/lib/mc/msg.h`):
 *
 * - A value whose length is over the split threshold is cut into `ceil(length / threshold)` chunks of
 *   `threshold` bytes (the last one shorter), in order (`chunkUpdateRequests`).
 * - Chunk `i` (from 0) is stored under `<key>:<i>:<suffix>` (`createChunkKey`: `"{}:{}:{}"` of the
 *   full key, the index and the suffix, decimal), with the request's TTL and client flags.
 * - The key itself then gets the index item, only once every chunk was stored (`route` of update
 *   requests: the worst chunk reply is returned instead when one was not): its value is
 *   `<version>-<numChunks>-<suffix>` (`ChunksInfo::toStringType`, `"{}-{}-{}"`, version 1) and its
 *   flags are the request's flags with `MC_MSG_FLAG_BIG_VALUE` = 0x8000 set (`msg.h`).
 * - The suffix ties the chunks to one write. mcrouter today takes the low 32 bits of a hash of the
 *   value (`hashBigValue`: `folly::IOBufHash`, SpookyHashV2, "only 32-bits of hash" for old readers);
 *   its first version used `rand()`. Readers never check it against the data: it only names the keys.
 * - A read whose reply has the flag parses the value as `version-numChunks-suffix` (`parseChunksInfo`:
 *   exactly three `-`-separated unsigned decimals: u32, u32, u64) and requires version 1; anything else
 *   is a miss. It then gets every chunk; any chunk that is not a hit makes the whole read a miss;
 *   otherwise the value is the chunks' bytes joined, with the index item's flags.
 *
 * memcachio's choices within that format: the suffix is 32 random bits (no pass over the value, and
 * readable by old mcrouters, which parse it as a u32), and an index claiming no chunks is a miss.
 */
import type { PooledBytes } from "../protocol/pooled-bytes.js";
import { randomBytes } from "node:crypto";
import type { Key } from "../keys.js";

/** `MC_MSG_FLAG_BIG_VALUE`: the client-flag bit of an index item. */
export const BIG_VALUE_FLAG = 0x8000;

/** The only index version mcrouter writes and reads. */
const INDEX_VERSION = 1;

/** Largest u32 and u64, for the bounds of the index's fields. */
const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

/** Longest index value: `1-` + a u32 + `-` + a u64. */
const MAX_INDEX_LENGTH = 2 + 10 + 1 + 20;

/** What an index item says: how many chunks, under which suffix, and the value's own flags. */
export class BigIndex {
  constructor(
    /** Chunks to read, at least 1. */
    readonly chunks: number,
    /** The suffix of the chunk keys, as decimal text (a u64 when another writer made it). */
    readonly suffix: string,
    /** The value's client flags: the index item's, without {@link BIG_VALUE_FLAG}. */
    readonly flags: number,
  ) {}
}

/** A fresh suffix: 32 random bits, in decimal. */
export function newSuffix(): string {
  return String(randomBytes(4).readUInt32BE(0));
}

/** The index item's value: `1-<chunks>-<suffix>`. */
export function indexValue(chunks: number, suffix: string): string {
  return `${INDEX_VERSION}-${chunks}-${suffix}`;
}

/** Key of chunk `i`: `<key>:<i>:<suffix>`, a Buffer for a Buffer key (its bytes as they are). */
export function chunkKey(key: Key, i: number, suffix: string): Key {
  const tail = `:${i}:${suffix}`;
  return typeof key === "string" ? key + tail : Buffer.concat([key, Buffer.from(tail, "latin1")]);
}

/** The keys of every chunk of `index`, in order. */
export function chunkKeys(key: Key, index: BigIndex): Key[] {
  const keys: Key[] = new Array(index.chunks);
  for (let i = 0; i < index.chunks; i++) keys[i] = chunkKey(key, i, index.suffix);
  return keys;
}

/**
 * The index in `buf[start, end)` stored with `flags` (which carry {@link BIG_VALUE_FLAG}), or null
 * when it is not one: mcrouter reads such an item as a miss.
 */
export function parseIndex(buf: Buffer, start: number, end: number, flags: number): BigIndex | null {
  if (end - start > MAX_INDEX_LENGTH) return null;
  const m = /^(\d{1,10})-(\d{1,10})-(\d{1,20})$/.exec(buf.toString("latin1", start, end));
  if (m === null) return null;
  const version = Number(m[1]);
  const chunks = Number(m[2]);
  const suffix = BigInt(m[3]!);
  if (version !== INDEX_VERSION || chunks > U32_MAX || chunks === 0 || suffix > U64_MAX) return null;
  // mcrouter names the chunks by the number it parsed ("007" reads chunks `<key>:<i>:7`): so do we.
  return new BigIndex(chunks, suffix.toString(), (flags & ~BIG_VALUE_FLAG) >>> 0);
}

/**
 * Splits `data` into chunks of at most `size` bytes (views of `data`, not copies). When `data` is
 * the bytes of `pooled`, the views are its own: a socket writing one holds that memory.
 */
export function split(data: Buffer, size: number, pooled: PooledBytes | null = null): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) {
    const end = Math.min(at + size, data.length);
    out.push(pooled === null ? data.subarray(at, end) : pooled.view(at, end));
  }
  return out;
}
