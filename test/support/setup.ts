/**
 * Runs once before the test files (which run in parallel): makes sure memcached is installed, so two
 * files never race to `apt-get install` it. Exits 1 with a one-line instruction when it cannot be had.
 */
import { findMemcached } from "./memcached.ts";

try {
  findMemcached();
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
