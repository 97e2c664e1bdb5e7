// Kubernetes: memcached as a StatefulSet behind a headless Service (clusterIP: None). Each pod's IP
// becomes a server; pods that come and go are added and removed within refreshInterval.
import { once } from "node:events";
import { Client } from "memcachio";

const mc = new Client({
  servers: ["dns+memcached.cache.svc.cluster.local:11211"],
  dns: { refreshInterval: 10_000 },
});

// Calls wait for the first answer within their deadline (250 ms by default); a service may wait for
// it before it takes traffic.
await once(mc, "topologyChange", { signal: AbortSignal.timeout(5_000) });
await mc.set("greeting", "hello from every pod's cache", { ttl: 60 });
console.log(await mc.get("greeting"));
console.log(mc.health().servers.map((s) => `${s.source} ${s.state}`));

await mc.close();
