// AWS ElastiCache: the configuration endpoint lists the nodes, and the client follows node
// replacements and scaling on its own.
import { once } from "node:events";
import { Client } from "memcachio";

const mc = new Client({
  discovery: { endpoint: "my-cluster.xxxxxx.cfg.use1.cache.amazonaws.com:11211" },
  tls: true, // with in-transit encryption: nodes are checked against their host names
  warmUp: { window: 60_000 }, // optional: keep the hit ratio while a node is added
});

// Calls wait for the first node list within their deadline (250 ms by default); a service may wait for
// it before it takes traffic.
await once(mc, "topologyChange", { signal: AbortSignal.timeout(5_000) });
await mc.set("greeting", "hello from the cluster", { ttl: 60 });
console.log(await mc.get("greeting"));
console.log(mc.health().servers.map((s) => `${s.source} ${s.state}`));

await mc.close();
