/**
 * `npm run soak -- --seconds N [--protocol binary] [--replicas 1] [--weights] [--hedge]`: the chaos soak
 * (see soak.ts), then the
 * consistency soak (see consistency.ts) for as long, while servers fail and then while the server
 * list changes. Prints the summaries; exits 1 on any violation.
 */
import { parseArgs } from "node:util";
import { runConsistencySoak } from "./consistency.ts";
import { runSoak } from "./soak.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    protocol: { type: "string", default: "meta" },
    replicas: { type: "string", default: "2" },
    weights: { type: "boolean", default: false },
    hedge: { type: "boolean", default: false },
  },
});
const seconds = Math.max(5, Number(values.seconds));
const protocol = values.protocol === "binary" || values.protocol === "text" ? values.protocol : "meta";
const replicas = Math.max(1, Math.floor(Number(values.replicas)));
const summary = await runSoak(seconds, (line) => console.log(line), protocol, replicas);
const total = Object.values(summary.ops).reduce((a, b) => a + b, 0);
console.log(
  `soak: ${seconds} s, ${protocol}, replicas ${replicas}, ${total} ops, ${summary.chaos.length} chaos events, ${summary.violations.length} violations`,
);
let violations = summary.violations.length;
for (const topology of [false, true]) {
  const c = await runConsistencySoak(seconds, replicas, protocol, undefined, topology, {
    weights: values.weights,
    hedge: values.hedge,
  });
  console.log(JSON.stringify(c, null, 1));
  const ratio = ((100 * c.hits) / Math.max(1, c.reads)).toFixed(1);
  console.log(
    `consistency${topology ? " (list changes)" : ""}: ${seconds} s, ${protocol}, replicas ${replicas}${values.weights ? ", weights 1–3" : ""}${values.hedge ? ", hedged" : ""}, ${c.reads} reads, ${c.hits} hits (${ratio} %), ${c.stale} stale, ${c.wrong} wrong`,
  );
  violations += c.violations.length;
}
process.exit(violations === 0 ? 0 : 1);
