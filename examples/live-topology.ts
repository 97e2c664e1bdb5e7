// Changing the server list while the client runs: only the keys ketama moves change owner, and
// requests under way finish on the server they were sent to.
import { Client } from "memcachio";

const mc = new Client({ servers: ["127.0.0.1:11211", "127.0.0.1:11212"] });
mc.on("topologyChange", ({ added, removed, reason }) =>
  console.log(`${reason}: added [${added.join(", ")}], removed [${removed.join(", ")}]`),
);

await mc.addServer("127.0.0.1:11213");
await mc.removeServer("127.0.0.1:11211");
await mc.setServers(["127.0.0.1:11212", "127.0.0.1:11213"]); // the same list: nothing changes

console.log(mc.health().servers.map((s) => s.label));
await mc.set("greeting", "hello", { ttl: 60 });
console.log(await mc.get("greeting"));

await mc.close();
