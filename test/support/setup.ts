/**
 * Runs once before the test files (which run in parallel): makes sure memcached, sasl2-bin (SASL
 * tests), openssl (TLS tests) and nutcracker (twemproxy tests) are installed, so two files never race to `apt-get install` them.
 * Exits 1 with a one-line instruction when one cannot be had.
 */
import { findMemcached, findTool } from "./memcached.ts";

try {
  findMemcached();
  findTool("saslpasswd2", "sasl2-bin");
  findTool("openssl", "openssl");
  findTool("nutcracker", "nutcracker");
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
