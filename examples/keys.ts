// Keys: plain printable ASCII goes as it is; anything else is sent base64-encoded, transparently.
// A key that cannot be sent is refused before anything goes on the wire.
import { Client, InvalidKeyError } from "memcachio";

const mc = new Client({ servers: ["127.0.0.1:11211"], keyPrefix: "app:" });

await mc.set("city: Zürich", "sunny"); // a space and UTF-8: base64 with the meta protocol's b flag
console.log(await mc.get("city: Zürich"));

try {
  await mc.get("k".repeat(250)); // 254 bytes with the prefix: over memcached's 250
} catch (err) {
  if (err instanceof InvalidKeyError) console.log("refused:", err.code);
}

await mc.close();
