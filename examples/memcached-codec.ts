// A codec for a cache that memcachio shares with memcached (3rd-Eden's) during a migration. Strings
// (flags 0) and JSON (flags 2) need none; memcached marks numbers with flags 8 and Buffers with 4
// (memcachio's own codec: 3 and 1), and stores each byte of a Buffer over 0x7f as two bytes of UTF-8.
import { Client, type Codec } from "memcachio";
import Memcached from "memcached";

const JSON_FLAG = 2;
const BINARY = 4;
const NUMERIC = 8;

const memcachedFlags: Codec = {
  encode(value) {
    if (typeof value === "string") return { data: value, flags: 0 };
    if (typeof value === "number") return { data: String(value), flags: NUMERIC };
    if (Buffer.isBuffer(value)) return { data: Buffer.from(value.toString("latin1"), "utf8"), flags: BINARY };
    return { data: JSON.stringify(value), flags: JSON_FLAG };
  },
  decode(data, flags) {
    if (flags === NUMERIC) return Number(data.toString());
    if (flags === BINARY) return Buffer.from(data.toString("utf8"), "latin1");
    if (flags === JSON_FLAG) return JSON.parse(data.toString());
    return data.toString();
  },
};

const old = new Memcached("127.0.0.1:11211");
const mc = new Client({ servers: ["127.0.0.1:11211"], codec: memcachedFlags });
const promised = <T>(call: (done: (err: unknown, result: T) => void) => void) =>
  new Promise<T>((resolve, reject) => call((err, result) => (err ? reject(err) : resolve(result))));

await promised((done) => old.set("count", 42, 60, done));
await promised((done) => old.set("bytes", Buffer.from([0x00, 0xff, 0x80]), 60, done));
console.log("memcachio reads", await mc.get("count"), await mc.get("bytes"));

await mc.set("count", 43, { ttl: 60 });
await mc.set("bytes", Buffer.from([0x01, 0xfe]), { ttl: 60 });
const count = await promised((done) => old.get("count", done));
const bytes = await promised((done) => old.get("bytes", done));
console.log("memcached reads", count, bytes);

old.end();
await mc.close();
