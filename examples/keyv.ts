// Keyv over memcachio: clear() empties this namespace only, without flush_all.
import Keyv from "keyv";
import { Client } from "memcachio";
import { KeyvMemcachio } from "memcachio/keyv";

const client = new Client({ servers: ["127.0.0.1:11211"] });
const keyv = new Keyv({ store: new KeyvMemcachio(client), namespace: "sessions" });

await keyv.set("abc", { user: 42 }, 60_000); // Keyv TTLs are ms: stored for 60 s
console.log(await keyv.get("abc"));
await keyv.clear();
console.log(await keyv.get("abc"));

await client.close(); // the adapter leaves a client it was given open
