/**
 * Records real binary-protocol responses of memcached into `fixtures/binary/responses.json`, with
 * what each must parse to (known from the request, not from our parser). Run by hand when the
 * fixture should be made again: `node --import tsx test/support/capture-binary.ts`.
 */
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { be32, be64, packet } from "./binary-packets.ts";
import { startMemcached } from "./memcached.ts";

const req = (opcode: number, opaque: number, o: { key?: string; extras?: Buffer; value?: Buffer } = {}) =>
  packet(opcode, opaque, o);
const u32s = (...v: number[]) => Buffer.from(v.flatMap(be32));
const u64 = (v: bigint) => Buffer.from(be64(v));

/** Sends `packets` and collects the response bytes until the server has been quiet for 100 ms. */
async function exchange(port: number, packets: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    s.on("data", (d) => {
      chunks.push(d);
      clearTimeout(timer);
      timer = setTimeout(done, 100);
    });
    s.on("error", reject);
    s.on("connect", () => {
      s.write(Buffer.concat(packets));
      timer = setTimeout(done, 300);
    });
  });
}

const big = Buffer.alloc(70_000, "b");
const cases: { name: string; packets: Buffer[]; replies: Record<string, unknown>[] }[] = [
  {
    name: "set, then get hit with flags",
    packets: [
      req(0x01, 11, { key: "k1", extras: u32s(5, 0), value: Buffer.from("hello") }),
      req(0x00, 12, { key: "k1" }),
    ],
    replies: [
      { opcode: 1, status: 0, opaque: 11, casNonZero: true, key: "", value: "" },
      { opcode: 0, status: 0, opaque: 12, clientFlags: 5, key: "", value: "hello", casNonZero: true },
    ],
  },
  {
    name: "get miss carries a message",
    packets: [req(0x00, 21, { key: "missing" })],
    replies: [{ opcode: 0, status: 1, opaque: 21, value: "Not found" }],
  },
  {
    name: "getKQ hits and a miss, then noop",
    packets: [
      req(0x01, 30, { key: "q1", extras: u32s(2, 0), value: Buffer.from('{"a":1}') }),
      req(0x0d, 31, { key: "q1" }),
      req(0x0d, 32, { key: "q-missing" }),
      req(0x0d, 33, { key: "k1" }),
      req(0x0a, 34),
    ],
    replies: [
      { opcode: 1, status: 0, opaque: 30 },
      { opcode: 0x0d, status: 0, opaque: 31, key: "q1", value: '{"a":1}', clientFlags: 2 },
      { opcode: 0x0d, status: 0, opaque: 33, key: "k1", value: "hello", clientFlags: 5 },
      { opcode: 0x0a, status: 0, opaque: 34, key: "", value: "" },
    ],
  },
  {
    name: "incr creates, then adds; non-numeric fails",
    packets: [
      req(0x05, 40, { key: "ctr", extras: Buffer.concat([u64(3n), u64(10n), u32s(0)]) }),
      req(0x05, 41, { key: "ctr", extras: Buffer.concat([u64(3n), u64(10n), u32s(0)]) }),
      req(0x05, 42, { key: "k1", extras: Buffer.concat([u64(1n), u64(0n), u32s(0xffffffff)]) }),
    ],
    replies: [
      { opcode: 5, status: 0, opaque: 40, counter: "10" },
      { opcode: 5, status: 0, opaque: 41, counter: "13" },
      { opcode: 5, status: 6, opaque: 42 },
    ],
  },
  {
    name: "add on an existing key, delete, delete again",
    packets: [
      req(0x02, 50, { key: "k1", extras: u32s(0, 0), value: Buffer.from("x") }),
      req(0x04, 51, { key: "k1" }),
      req(0x04, 52, { key: "k1" }),
    ],
    replies: [
      { opcode: 2, status: 2, opaque: 50 },
      { opcode: 4, status: 0, opaque: 51 },
      { opcode: 4, status: 1, opaque: 52 },
    ],
  },
  {
    name: "version and an unknown opcode",
    packets: [req(0x0b, 60), req(0x20, 61)],
    replies: [
      { opcode: 0x0b, status: 0, opaque: 60, value: "1.6.18" },
      { opcode: 0x20, status: 0x81, opaque: 61 },
    ],
  },
  {
    name: "a 70,000-byte value",
    packets: [req(0x01, 70, { key: "big", extras: u32s(1, 0), value: big }), req(0x00, 71, { key: "big" })],
    replies: [
      { opcode: 1, status: 0, opaque: 70 },
      { opcode: 0, status: 0, opaque: 71, clientFlags: 1, valueLength: big.length },
    ],
  },
];

const server = await startMemcached();
const good = [];
for (const c of cases) {
  const wire = await exchange(server.port, c.packets);
  good.push({ name: c.name, wireHex: wire.toString("hex"), replies: c.replies });
}
await server.kill();
const header = (opcode: number, keyLength: number, extras: number, body: number) => {
  const h = Buffer.alloc(24);
  h[0] = 0x81;
  h[1] = opcode;
  h.writeUInt16BE(keyLength, 2);
  h[4] = extras;
  h.writeUInt32BE(body, 8);
  return h.toString("hex");
};
const bad = [
  { name: "request magic in a response", wireHex: `80${header(0, 0, 0, 0).slice(2)}` },
  { name: "key and extras longer than the body", wireHex: header(0, 10, 4, 8) + "00".repeat(8) },
  { name: "body over maxValueSize + slack", wireHex: header(0, 0, 4, 0x7fffffff) },
];
writeFileSync(
  new URL("../../fixtures/binary/responses.json", import.meta.url),
  `${JSON.stringify({ source: "memcached 1.6.18 (Debian), captured by test/support/capture-binary.ts", maxValueSize: 1048064, good, bad }, null, 1)}\n`,
);
console.log(`${good.length} good, ${bad.length} bad`);
