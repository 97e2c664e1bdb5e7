/**
 * The package as a user installs it: `npm pack` (which builds `dist` through `prepare`), unpacked into a
 * fresh application's node_modules, then imported from ESM and CommonJS, type-checked under both module
 * resolutions, and its CLI run.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
/**
 * A guard against shipping what should not be (maps, sources, a chunk per entry point): each of those
 * adds tens of kB. The code and docs themselves grow a little with each release; raise it with them.
 */
const MAX_PACKED_BYTES = 355_000;
const ENTRY_POINTS = ["index", "prometheus", "keyv", "otel"];

interface PackResult {
  size: number;
  unpackedSize: number;
  filename: string;
  files: { path: string; size: number }[];
}

let dir: string;
let app: string;
let packed: PackResult;

/**
 * An application whose node_modules holds the unpacked tarball and, beside it, this repo's dependencies
 * (`only`: just these, as an application without the optional peers has).
 */
async function installInto(appDir: string, tarball: string, only?: string[]): Promise<void> {
  const modules = join(appDir, "node_modules");
  mkdirSync(join(modules, "memcachio"), { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", join(modules, "memcachio"), "--strip-components=1"]);
  for (const name of only ?? readdirSync(join(ROOT, "node_modules"))) {
    if (name.startsWith(".") || name === "memcachio") continue;
    symlinkSync(join(ROOT, "node_modules", name), join(modules, name));
  }
  writeFileSync(join(appDir, "package.json"), JSON.stringify({ name: "app", private: true }));
}

/** The README's JavaScript example (the first js block after "## Example"). */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const open = readme.indexOf("```js\n", readme.indexOf("\n## Example\n"));
  return readme.slice(open + 6, readme.indexOf("\n```", open + 1) + 1);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "memcachio-pack-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  // `prepare`'s build prints to stdout before npm's JSON.
  packed = (JSON.parse(stdout.slice(stdout.indexOf("[\n"))) as PackResult[])[0] as PackResult;
  app = join(dir, "app");
  await installInto(app, join(dir, packed.filename));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("the development install", () => {
  it("npm ls is clean, and no installed package is native code to compile (binding.gyp)", async () => {
    await run("npm", ["ls"], { cwd: ROOT }).catch((err: { stdout: string; stderr: string }) => {
      assert.fail(`npm ls failed:\n${err.stdout}\n${err.stderr}`);
    });
    const native: string[] = [];
    const look = (dir: string, depth: number): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name === ".bin") continue;
        const path = join(dir, entry.name);
        if (entry.name.startsWith("@")) look(path, depth);
        else {
          if (existsSync(join(path, "binding.gyp"))) native.push(path);
          if (depth < 3 && existsSync(join(path, "node_modules")))
            look(join(path, "node_modules"), depth + 1);
        }
      }
    };
    look(join(ROOT, "node_modules"), 0);
    assert.deepEqual(native, [], "packages that would be compiled on npm ci");
  });
});

describe("npm pack", () => {
  it("ships the built entry points and their shared chunks, the licence, README and guides: nothing else", () => {
    const paths = packed.files.map((f) => f.path).sort();
    const guides = ["docs/migrating.md", "docs/failures-and-consistency.md", "docs/topology.md"];
    for (const required of [
      "LICENSE",
      "README.md",
      "CHANGELOG.md",
      "package.json",
      "dist/cli.js",
      ...guides,
    ]) {
      assert.ok(paths.includes(required), `${required} is in the tarball`);
    }
    for (const entry of ENTRY_POINTS) {
      for (const ext of [".js", ".cjs", ".d.ts", ".d.cts"]) {
        assert.ok(paths.includes(`dist/${entry}${ext}`), `dist/${entry}${ext} is in the tarball`);
      }
    }
    const unexpected = paths.filter(
      (p) =>
        !/^(LICENSE|README\.md|CHANGELOG\.md|package\.json)$/.test(p) &&
        !/^docs\/[\w-]+\.md$/.test(p) &&
        !/^dist\/(index|prometheus|keyv|otel|chunk-[\w-]+)\.c?js$/.test(p) &&
        !/^dist\/cli\.js$/.test(p) &&
        !/^dist\/(index|prometheus|keyv|otel|client-[\w-]+)\.d\.c?ts$/.test(p),
    );
    assert.deepEqual(unexpected, [], "no sources, tests, maps, CLI typings or CommonJS CLI, no stray files");
  });

  it(`packs under ${MAX_PACKED_BYTES} bytes, each entry point's code once per module system`, () => {
    assert.ok(packed.size < MAX_PACKED_BYTES, `packed size ${packed.size} bytes`);
    // The client's code lives in one shared chunk per format, not in every entry point.
    const big = packed.files.filter((f) => f.path.startsWith("dist/") && f.size > 50_000).map((f) => f.path);
    assert.equal(big.length, 2, `one large chunk per format: ${big.join(", ")}`);
  });
});

describe("installed from the tarball", () => {
  const keyvClient = `new KeyvMemcachio({ servers: ["127.0.0.1:1"] }).client`;

  it("ESM: every entry point loads, and memcachio/keyv builds the same Client class the index exports", async () => {
    const script = `
      import { Client, ConnectionError } from "memcachio";
      import { KeyvMemcachio } from "memcachio/keyv";
      import { collectMetrics } from "memcachio/prometheus";
      import { MemcachioInstrumentation } from "memcachio/otel";
      const client = ${keyvClient};
      const same = client instanceof Client && client.constructor === Client;
      // A TTL written as other clients take it is refused, naming ttl, before anything is sent.
      const ttlErrors = [];
      for (const options of [60, { expires: 60 }]) {
        ttlErrors.push(await client.set("k", "v", options).then(() => "stored", (e) => e.constructor.name + ": " + e.message));
      }
      await client.close();
      console.log(JSON.stringify({ same, metrics: typeof collectMetrics, otel: typeof MemcachioInstrumentation, err: typeof ConnectionError, ttlErrors }));`;
    const { stdout } = await run("node", ["--input-type=module", "-e", script], { cwd: app });
    const { ttlErrors, ...loaded } = JSON.parse(stdout) as { ttlErrors: string[] };
    assert.deepEqual(loaded, { same: true, metrics: "function", otel: "function", err: "function" });
    assert.match(ttlErrors[0]!, /^InvalidArgumentError: .*set\(key, value, \{ ttl: 60 \}\)/);
    assert.match(
      ttlErrors[1]!,
      /^InvalidArgumentError: set: unknown option "expires"\. Did you mean "ttl"\?/,
    );
  });

  it("CommonJS: every entry point loads, and memcachio/keyv builds the same Client class the index exports", async () => {
    const script = `
      const { Client } = require("memcachio");
      const { KeyvMemcachio } = require("memcachio/keyv");
      const { collectMetrics } = require("memcachio/prometheus");
      const { MemcachioInstrumentation } = require("memcachio/otel");
      const client = ${keyvClient};
      const same = client instanceof Client && client.constructor === Client;
      client.close().then(() => console.log(JSON.stringify({ same, metrics: typeof collectMetrics, otel: typeof MemcachioInstrumentation })));`;
    const { stdout } = await run("node", ["-e", script], { cwd: app });
    assert.deepEqual(JSON.parse(stdout), { same: true, metrics: "function", otel: "function" });
  });

  for (const [module, moduleResolution, type] of [
    ["commonjs", "node", "commonjs"],
    ["nodenext", "nodenext", "commonjs"],
    ["nodenext", "nodenext", "module"],
  ] as const) {
    it(`types resolve for every entry point: moduleResolution "${moduleResolution}", a ${type} app`, async () => {
      const project = join(app, `types-${moduleResolution}-${type}`);
      mkdirSync(project);
      // The app's own package.json says whether its .ts files are ES modules (the .d.ts read) or CommonJS (.d.cts).
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: `app-${type}`, type }));
      const files = ["use.ts"];
      if (type === "module") {
        // The README's example, as it is, type-checks in a TypeScript ES module too.
        writeFileSync(join(project, "example.ts"), readmeExample());
        files.push("example.ts");
      }
      writeFileSync(
        join(project, "use.ts"),
        [
          `import { Client, type ClientOptions } from "memcachio";`,
          `import { KeyvMemcachio } from "memcachio/keyv";`,
          `import { collectMetrics } from "memcachio/prometheus";`,
          `import { MemcachioInstrumentation } from "memcachio/otel";`,
          `const options: ClientOptions = { servers: ["127.0.0.1:11211"] };`,
          `export const uses = [new Client(options), KeyvMemcachio, collectMetrics, MemcachioInstrumentation];`,
          // Under exactOptionalPropertyTypes, an option read from a config as `number | undefined`.
          `declare const cfg: { timeout: number | undefined };`,
          `export const fromConfig = new Client({ timeout: cfg.timeout }).get("k", { timeout: cfg.timeout });`,
          // A deliberate mistake: proves the types were found rather than read as `any`.
          `// @ts-expect-error servers is not a number`,
          `export const wrong: ClientOptions = { servers: 1 };`,
        ].join("\n"),
      );
      writeFileSync(
        join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution,
            target: "ES2022",
            strict: true,
            exactOptionalPropertyTypes: true,
            noEmit: true,
            skipLibCheck: false,
            types: ["node"],
          },
          files,
        }),
      );
      const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
      await run("node", [tsc, "-p", project], { cwd: project }).catch((err: { stdout: string }) => {
        assert.fail(`tsc failed:\n${err.stdout}`);
      });
    });
  }

  it("the client loads without the optional peers (prom-client, keyv, OpenTelemetry) installed", async () => {
    const bare = join(dir, "bare");
    await installInto(bare, join(dir, packed.filename), ["generic-pool", "denque"]);
    const esm = `import { Client } from "memcachio"; await new Client().close(); console.log("esm");`;
    const cjs = `const { Client } = require("memcachio"); new Client().close().then(() => console.log("cjs"));`;
    assert.equal((await run("node", ["--input-type=module", "-e", esm], { cwd: bare })).stdout, "esm\n");
    assert.equal((await run("node", ["-e", cjs], { cwd: bare })).stdout, "cjs\n");
  });

  it("the bin runs from the tarball as npx runs it (the executable itself, through its link)", async () => {
    const bin = join(app, "node_modules/.bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync("../memcachio/dist/cli.js", join(bin, "memcachio"));
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.equal((await run(join(bin, "memcachio"), ["--version"])).stdout.trim(), version);
    assert.match((await run(join(bin, "memcachio"), ["--help"])).stdout, /memcachio check/);
  });
});
