/**
 * A program for `event-listeners.test.ts`: a client whose `serverDown` and `writeFailure` listeners
 * throw, with an `uncaughtException` handler of its own (the test runner's process must not see
 * them). Argument: the label of a live memcached. Prints one JSON line: what the calls gave, the
 * errors the process saw as uncaught, and unhandled rejections.
 */
import { Client, HashRing } from "../../src/index.ts";
import { freePort, waitFor } from "./memcached.ts";

const live = process.argv[2]!;
const caught: string[] = [];
const unhandled: string[] = [];
process.on("uncaughtException", (err) => caught.push(err.message));
process.on("unhandledRejection", (reason) => unhandled.push(String(reason)));

const refusing = `127.0.0.1:${await freePort()}`;
const labels = [live, refusing];
const ring = new HashRing(labels);
const onRefusing = Array.from({ length: 200 }, (_, i) => `listener:${i}`).filter(
  (k) => ring.serverFor(k) === refusing,
);
const mc = new Client({
  servers: labels,
  timeout: 500,
  failover: { failureThreshold: 1, retryDelay: 60_000, maxRetryDelay: 60_000 },
});
mc.on("serverDown", () => {
  throw new Error("serverDown listener failure");
});
mc.on("writeFailure", () => {
  throw new Error("writeFailure listener failure");
});
const result: Record<string, unknown> = {};
try {
  await mc.get(onRefusing[0]!).catch(() => undefined); // refused: the server is marked down
  await waitFor(() => mc.health().servers.find((s) => s.label === refusing)!.state !== "up", 2000);
  // Its keys go to the live server meanwhile; each write is remembered for the one away.
  const keys = onRefusing.slice(1, 4);
  result.sets = await Promise.all(keys.map((k) => mc.set(k, "v")));
  result.gets = await Promise.all(keys.map((k) => mc.get(k)));
} catch (err) {
  result.threw = String(err);
} finally {
  await mc.close();
}
// After an error thrown from `process.nextTick`, Node runs the rest of that queue only after the next
// callback of the event loop: one rethrown error surfaces per turn. Wait a few turns for all of them
// (the listeners threw once for serverDown and once per write).
for (let turn = 0; turn < 50 && caught.length < 4; turn++)
  await new Promise((resolve) => setTimeout(resolve, 5));
console.log(JSON.stringify({ ...result, caught, unhandled }));
