// Moving from memcached (3rd-Eden's): callbacks become promises, and both clients place keys with
// libmemcached's ketama, so they can share a fleet while you switch over.
import { Client } from "memcachio";
import Memcached from "memcached";

const servers = ["127.0.0.1:11211", "127.0.0.1:11212", "127.0.0.1:11213"];
const old = new Memcached(servers);
const mc = new Client({ servers });

// The old client's calls, wrapped in promises to compare results.
const promised = <T>(call: (done: (err: unknown, result: T) => void) => void) =>
  new Promise<T>((resolve, reject) => call((err, result) => (err ? reject(err) : resolve(result))));

// set(key, value, lifetime, callback) becomes await set(key, value, { ttl }).
await promised((done) => old.set("user:42", { name: "Ada" }, 60, done));
await mc.set("user:43", { name: "Grace" }, { ttl: 60 });

// Objects are JSON with flags 2 in both clients: each reads what the other wrote.
console.log("memcachio reads", await mc.get("user:42"));
console.log("memcached reads", await promised((done) => old.get("user:43", done)));

// getMulti(keys, callback) gives an object of the hits; getMany resolves a Map of them.
console.log("getMulti", await promised((done) => old.getMulti(["user:42", "nobody"], done)));
console.log("getMany", await mc.getMany(["user:42", "nobody"]));

// Every key the old client wrote is on the server memcachio asks for it.
const keys = Array.from({ length: 100 }, (_, i) => `item:${i}`);
await Promise.all(keys.map((key) => promised((done) => old.set(key, key, 60, done))));
console.log(`${(await mc.getMany(keys)).size} of ${keys.length} found`);

old.end();
await mc.close();
