// Thundering herds and stale data: memcached elects one caller, across all processes, to reload a
// key that is missing or was invalidated; the others get its value, or the stale one meanwhile.
import { Client } from "memcachio";

interface Product {
  id: string;
  name: string;
  price: number;
}

// Stands for the database: counts its loads.
const rows = new Map<string, Product>([["42", { id: "42", name: "Teapot", price: 20 }]]);
const db = {
  loads: 0,
  async loadProduct(id: string): Promise<Product> {
    db.loads++;
    await new Promise((resolve) => setTimeout(resolve, 20)); // a slow query
    return { ...rows.get(id)! };
  },
  async updateProduct(id: string, changes: Partial<Product>): Promise<void> {
    Object.assign(rows.get(id)!, changes);
  },
};

const mc = new Client({ servers: ["127.0.0.1:11211"] });
const id = "42";
const product = () =>
  mc.fetch(
    `product:${id}`,
    () => db.loadProduct(id), // runs once per miss, fleet-wide
    { ttl: 300, lockTtl: 10, recacheWithin: 30 },
  );

// Twenty callers miss at once: one loads, the others wait for its value.
const first = await Promise.all(Array.from({ length: 20 }, product));
console.log(`${first.length} callers, ${db.loads} load:`, first[0]);

await db.updateProduct(id, { price: 25 });
await mc.invalidate(`product:${id}`, { staleTtl: 30 }); // stale, not deleted

// One caller reloads; the others get the stale value at once.
const during = await Promise.all(Array.from({ length: 5 }, product));
console.log("prices while one reloads:", during.map((p) => p.price).sort((a, b) => a - b));
console.log("then:", (await product()).price, `(${db.loads} loads in all)`);

await mc.close();
