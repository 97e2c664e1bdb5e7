// Prometheus metrics for two clients in one registry: each series carries a `client` label.
import { Client } from "memcachio";
import { collectMetrics } from "memcachio/prometheus";
import { Registry } from "prom-client";

const servers = ["127.0.0.1:11211"];
const sessions = new Client({ servers, keyPrefix: "sessions:" });
const pages = new Client({ servers, keyPrefix: "pages:" });

const registry = new Registry(); // or prom-client's global one, the default
const collected = [
  collectMetrics(sessions, { registry, name: "sessions" }),
  collectMetrics(pages, { registry, name: "pages" }),
];

await sessions.set("s1", { user: 42 }, { ttl: 1800 });
await sessions.get("s1"); // a hit
await pages.get("/about"); // a miss

// What a scrape of /metrics would return, filtered to a few lines.
for (const line of (await registry.metrics()).split("\n")) {
  if (/^memcachio_(hits|misses)_total|^memcachio_servers_up/.test(line)) console.log(line);
}

for (const c of collected) c.stop();
await Promise.all([sessions.close(), pages.close()]);
