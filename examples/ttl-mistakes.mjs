// Calls written for other clients are refused before anything is sent, with an InvalidArgumentError
// that says what to write instead. TypeScript refuses them too (hence the @ts-expect-error lines).
import { Client, InvalidArgumentError } from "memcachio";

const mc = new Client({ servers: ["127.0.0.1:11211"] });

const attempts = {
  // @ts-expect-error: memcached and memcache take a lifetime here; memcachio takes { ttl }
  "set(key, value, 60)": () => mc.set("k", "v", 60),
  // @ts-expect-error: memjs calls it expires
  "set(key, value, { expires: 60 })": () => mc.set("k", "v", { expires: 60 }),
  // @ts-expect-error: memcachio returns promises and takes no callbacks
  "get(key, callback)": () => mc.get("k", () => {}),
};
for (const [call, attempt] of Object.entries(attempts)) {
  try {
    await attempt();
  } catch (err) {
    if (err instanceof InvalidArgumentError) console.log(`${call}: refused (${err.code})`);
  }
}
console.log("set(key, value, { ttl: 60 }):", await mc.set("k", "v", { ttl: 60 }));

await mc.close();
