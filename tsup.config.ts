import { readFileSync, rmSync } from "node:fs";
import { defineConfig } from "tsup";

const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };

export default defineConfig({
  entry: ["src/index.ts", "src/prometheus.ts", "src/keyv.ts", "src/otel.ts", "src/cli.ts"],
  format: ["esm", "cjs"],
  // Types for the library entry points only: the CLI is a program, not an import.
  dts: { entry: ["src/index.ts", "src/prometheus.ts", "src/keyv.ts", "src/otel.ts"] },
  // Readable code, no maps: a stack trace or a debugger in node_modules shows the code as written
  // (maps without the sources would name lines no one has; with them the package would triple).
  sourcemap: false,
  define: { __MEMCACHIO_VERSION__: JSON.stringify(version) },
  clean: true,
  target: "node20",
  platform: "node",
  // Entry points share chunks, so `memcachio/keyv` and `memcachio` hand out one `Client` class.
  splitting: true,
  external: ["prom-client", "keyv", "@opentelemetry/api", "@opentelemetry/instrumentation"],
  // The bin is `dist/cli.js` (ESM); every entry is built in both formats, and nothing runs the CJS copy.
  async onSuccess() {
    rmSync("dist/cli.cjs", { force: true });
  },
});
