// quick-start.mjs — run with: node quick-start.mjs
import { Client, TimeoutError } from "memcachio";

const mc = new Client({ servers: ["127.0.0.1:11211"], timeout: 250 });

await mc.set("user:42", { name: "Ada" }, { ttl: 60 });  // true when stored
const user = await mc.get("user:42");                   // { name: "Ada" }, or undefined on a miss
const hits = await mc.getMany(["user:42", "user:43"]);  // Map of the hits: one round trip
await mc.incr("visits", 1n, { initial: 0n });           // bigint counters (u64)
try {
  await mc.get("slow", { timeout: 50 });
} catch (err) {
  if (err instanceof TimeoutError) console.log("memcached was slow:", err.message);
}
console.log(user, hits.size);
await mc.close();                                       // lets requests under way finish
