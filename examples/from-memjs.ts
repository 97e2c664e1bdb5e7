// Moving from memjs: the same calls in both clients, on the same items, as while you switch over.
import { Client } from "memcachio";
import memjs from "memjs";

const old = memjs.Client.create("127.0.0.1:11211", { logger: { log() {} } });
const mc = new Client({ servers: ["127.0.0.1:11211"] });

// TTLs are seconds in both: memjs takes { expires }, memcachio { ttl }.
await old.set("greeting", "hello", { expires: 60 });
await mc.set("greeting", "hello", { ttl: 60 });

// memjs resolves { value: Buffer, flags: Buffer }; memcachio the value as it was stored.
const { value } = await old.get("greeting");
console.log(value?.toString(), await mc.get("greeting"));

// JSON: memjs stores what you serialised (flags 0), which memcachio reads back as that string.
await old.set("user:42", JSON.stringify({ name: "Ada" }));
console.log(JSON.parse((await mc.get<string>("user:42")) ?? "null"));

// Counters: { success, value } with a number; memcachio resolves a bigint.
console.log(await old.increment("hits", 5, { initial: 10 }), await mc.incr("hits", 5n, { initial: 10n }));

// memjs has no multi-get: getMany is one round trip per server, and resolves a Map of the hits.
const hits = await mc.getMany(["greeting", "user:42", "nobody"]);
console.log([...hits.keys()]);

// A Buffer memjs stored has flags 0, which memcachio's default codec reads as UTF-8 text. To read such
// bytes as memjs did, give that client a codec that hands back the raw bytes.
await old.set("avatar:42", Buffer.from([0x89, 0x50, 0x4e, 0x47]));
const bytes = new Client({
  servers: ["127.0.0.1:11211"],
  codec: { encode: (v) => ({ data: Buffer.isBuffer(v) ? v : String(v), flags: 0 }), decode: (data) => data },
});
console.log(await bytes.get("avatar:42"));

old.close();
await Promise.all([mc.close(), bytes.close()]);
