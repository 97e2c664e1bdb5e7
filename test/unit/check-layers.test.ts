import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../support/check-layers.mjs", import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs the layer check on a tree of `files` (path → text); returns its exit code and report. */
function check(files: Record<string, string>): { status: number | null; report: string } {
  const root = mkdtempSync(join(tmpdir(), "layers-"));
  dirs.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const r = spawnSync(process.execPath, [script, root], { encoding: "utf8" });
  return { status: r.status, report: r.stdout + r.stderr };
}

describe("layer check (test/support/check-layers.mjs)", () => {
  it("passes on src/", () => {
    const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /layers: ok/);
  });

  it("passes a tree that follows the rules", () => {
    const r = check({
      "protocol/frame.ts": "export class Frame {}\n",
      "connection/attempt.ts": 'import { Frame } from "../protocol/frame.js";\nexport class Attempt {}\n',
      "cluster/cluster.ts":
        'import { Attempt } from "../connection/attempt.js";\nconst up = (s: { state: string }) => s.state === "up";\nnew CallAttempt();\n',
      "client.ts": 'import { x } from "./cluster/cluster.js";\n',
      "errors.ts": "export class E {}\n",
    });
    assert.equal(r.status, 0, r.report);
  });

  it("reports each broken rule, one line each", () => {
    const r = check({
      "protocol/parser.ts":
        'import { Socket } from "node:net";\nimport { x } from "../connection/connection.js";\nimport { ch } from "../diagnostics.js";\nsetTimeout(() => {}, 1);\n',
      "connection/connection.ts":
        'import { codec } from "../serialization/codec.js";\nif (server.state === "up") {}\nconst a = new CallAttempt();\n',
      "pool/pool.ts": 'import { afterFailure } from "../cluster/policy.js";\nafterFailure({});\n',
      "client/results.ts": "class R {\n  server: object | null = null;\n  context: unknown = null;\n}\n",
      "errors.ts": 'import { Client } from "./client.js";\n',
      "client.ts": "export class Client {}\n",
      "stray/file.ts": "export {};\n",
      "cluster/huge.ts": "// x\n".repeat(401),
      "diagnostics.ts": "export {};\n",
      "cluster/policy.ts": "export function afterFailure(_: unknown) {}\n",
      "serialization/codec.ts": "export const codec = 1;\n",
      "cluster/freshness/repairs.ts": "export class Repairs {}\n",
      "cluster/freshness/freshness.ts": 'import { Repairs } from "./repairs.js";\n',
      "cluster/warm.ts":
        'import { Repairs } from "./freshness/repairs.js";\nimport { F } from "./freshness/freshness.js";\n',
    });
    assert.equal(r.status, 1);
    const expected = [
      "protocol/parser.ts: protocol/ imports node:net",
      "protocol/parser.ts (protocol) imports connection/connection.ts (connection): imports must point down",
      "protocol/parser.ts: protocol/ publishes diagnostics",
      "protocol/parser.ts: protocol/ uses a timer",
      "connection/connection.ts: only the client layer serialises values",
      "connection/connection.ts (connection) imports serialization/codec.ts (client): imports must point down",
      "connection/connection.ts: checks server health outside cluster/",
      "connection/connection.ts: makes attempts of calls outside cluster/",
      "pool/pool.ts: only cluster/ decides on failures",
      "pool/pool.ts (pool) imports cluster/policy.ts (cluster): imports must point down",
      "pool/pool.ts: decides on failures outside cluster/",
      "client/results.ts: field `server: object | null` erases a layer's own type",
      "client/results.ts: field `context: unknown` erases a layer's own type",
      "errors.ts: a leaf imports client.ts",
      "stray/file.ts: not in any layer",
      "cluster/huge.ts: 401 lines (at most 400)",
      "cluster/warm.ts: imports cluster/freshness/repairs.ts, inside the freshness owner",
    ];
    for (const e of expected) assert.ok(r.report.includes(e), `missing: ${e}\n${r.report}`);
    assert.equal(r.report.trim().split("\n").length, expected.length, r.report);
  });
});
