/**
 * Binary-protocol request packets written out field by field, as the protocol document lays them out:
 * an implementation of the request format of our own for tests, independent of `src/protocol/binary`.
 */

/** A request packet: magic 0x80, opcode, key length, extras length, body length, opaque, CAS. */
export function packet(
  opcode: number,
  opaque: number,
  o: { key?: Buffer | string; extras?: number[] | Buffer; value?: Buffer | string; cas?: bigint } = {},
): Buffer {
  const key = typeof o.key === "string" || o.key === undefined ? Buffer.from(o.key ?? "", "latin1") : o.key;
  const extras = Buffer.from(o.extras ?? []);
  const value = typeof o.value === "string" || o.value === undefined ? Buffer.from(o.value ?? "") : o.value;
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(opaque, 12);
  h.writeBigUInt64BE(o.cas ?? 0n, 16);
  return Buffer.concat([h, extras, key, value]);
}

/** Big-endian bytes of a u32 / u64, for extras. */
export const be32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
export const be64 = (v: bigint): number[] => [...be32(Number(v >> 32n)), ...be32(Number(v & 0xffffffffn))];
