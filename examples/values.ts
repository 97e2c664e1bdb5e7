// What the default codec stores for each type, and the client flags it marks them with: strings and
// Buffers as their raw bytes (any other client reads them), the rest as text.
import { Client } from "memcachio";

const mc = new Client({ servers: ["127.0.0.1:11211"] });

const values = {
  string: "grüezi",
  bytes: Buffer.from([0xca, 0xfe]),
  json: { id: 7, tags: ["new"] },
  number: 3.5,
  bigint: 2n ** 64n - 1n,
};
for (const [type, value] of Object.entries(values)) {
  await mc.set(`value:${type}`, value);
  const read = await mc.gets(`value:${type}`);
  console.log(type, read?.flags, read?.value);
}

await mc.close();
