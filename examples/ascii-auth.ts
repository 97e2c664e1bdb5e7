// memcached's ASCII authentication (memcached -Y <authfile>) with the meta protocol, the default: the
// same `auth` option as SASL, sent first on every new connection.
import { AuthError, Client } from "memcachio";

const mc = new Client({
  servers: ["127.0.0.1:11211"],
  auth: { username: "app", password: process.env.MEMCACHED_PASSWORD ?? "" },
});
await mc.set("greeting", "hello, authenticated");
console.log(await mc.get("greeting"));

const wrong = new Client({ servers: ["127.0.0.1:11211"], auth: { username: "app", password: "guess" } });
await wrong.get("greeting").catch((err) => {
  if (!(err instanceof AuthError)) throw err;
  console.log("refused:", err.code); // and the server is marked down for this client until a probe
});

await Promise.all([mc.close(), wrong.close()]);
