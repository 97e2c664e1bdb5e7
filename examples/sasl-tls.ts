// SASL (memcached -S makes the server binary-only) over TLS, with a client certificate and your own
// CA (leave `ca` out to verify against the system's CAs).
import { readFileSync } from "node:fs";
import { Client } from "memcachio";

const mc = new Client({
  servers: ["cache-1.internal:11211"],
  protocol: "binary",
  auth: { username: "app", password: process.env.MEMCACHED_PASSWORD ?? "" },
  tls: { ca: readFileSync("ca.pem"), cert: readFileSync("client.pem"), key: readFileSync("client.key") },
});

await mc.set("greeting", "hello, privately");
console.log(await mc.get("greeting"));

await mc.close();
