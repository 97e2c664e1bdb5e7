// When a server fails: it is marked down (a refused connection counts at once) and, with ejection
// (the default), its keys go to their next server on the ring until it is back. Callers wait for nothing.
import { Client, ConnectionError } from "memcachio";

// Nothing listens on 127.0.0.1:11212 here: a server that has died.
const mc = new Client({ servers: ["127.0.0.1:11211", "127.0.0.1:11212"] });
mc.on("serverDown", ({ server, error }) => console.log(`down: ${server} (${error.constructor.name})`));

const keys = Array.from({ length: 10 }, (_, i) => `user:${i}`);
await Promise.all(keys.map((key) => mc.set(key, "x", { ttl: 60 })));
const hits = await mc.getMany(keys);
console.log(`${hits.size} of ${keys.length} keys read back`);
for (const { label, state } of mc.health().servers) console.log(label, state);

// Without ejection, a down server's keys fail fast; failOpen turns its reads into misses, not its writes.
const strict = new Client({ servers: ["127.0.0.1:11212"], failover: { eject: false }, failOpen: true });
console.log("read:", await strict.get("user:1"));
await strict.set("user:1", "x").catch((err) => {
  if (!(err instanceof ConnectionError)) throw err; // a lost cache write is fine here
  console.log("write:", err.constructor.name);
});

await Promise.all([mc.close(), strict.close()]);
