// HashRing places keys as libmemcached does (KETAMA_WEIGHTED): the same owner as PHP memcached,
// pylibmc, nginx, or twemproxy with hash: md5 and distribution: ketama. No connection is made.
import { HashRing } from "memcachio";

const ring = new HashRing(["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"]);

const [owner, next] = ring.serversFor("user:42", 2); // the owner, then the next server clockwise
console.log(ring.serverFor("user:42"), "then", next);

ring.remove(owner!); // only the removed server's keys move: to their next server
console.log(ring.serverFor("user:42"));
