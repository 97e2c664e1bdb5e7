// Big values stored compressed: the client deflates what reaches the threshold, and every memcachio
// client with the default codec inflates it on read, with or without the option.
import { Client } from "memcachio";

const servers = ["127.0.0.1:11211"];
const mc = new Client({ servers, compression: { threshold: 16_384 } }); // deflate, level 1

const report = { rows: Array.from({ length: 2_000 }, (_, id) => ({ id, status: "ok" })) };
await mc.set("report:today", report, { ttl: 300 });

const stored = await mc.gets<typeof report>("report:today");
console.log(`flags: 0x${stored?.flags.toString(16)}`); // JSON (0x02), deflated (0x10)

const reader = new Client({ servers }); // no compression option
const copy = await reader.get<typeof report>("report:today");
console.log("rows read back:", copy?.rows.length);

await Promise.all([mc.close(), reader.close()]);
