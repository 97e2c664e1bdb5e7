// twemproxy (nutcracker) as a local sidecar: the protocol becomes "text".
import { Client, UnsupportedError } from "memcachio";

const mc = new Client({ servers: ["127.0.0.1:22121"], proxy: "twemproxy" });

await mc.set("page:/", "<h1>Home</h1>", { ttl: 60 });
await mc.set("page:/about", "<h1>About</h1>", { ttl: 60 });
const pages = await mc.getMany(["page:/", "page:/about", "page:/missing"]); // split by backend, reassembled
console.log([...pages.keys()].sort());

try {
  await mc.stats(); // twemproxy would close the connection: refused before anything is sent
} catch (err) {
  if (err instanceof UnsupportedError) console.log("stats: ask the servers behind the proxy");
}

await mc.close();
