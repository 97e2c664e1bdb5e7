import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/prometheus.ts", "src/keyv.ts", "src/otel.ts", "src/cli.ts"],
  format: ["esm", "cjs"],
  // Types for the library entry points only: the CLI is a program, not an import.
  dts: { entry: ["src/index.ts", "src/prometheus.ts", "src/keyv.ts", "src/otel.ts"] },
  // Maps point stack traces at src/ lines; without the sources inlined they stay small.
  sourcemap: true,
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
  clean: true,
  target: "node20",
  platform: "node",
  // Entry points share chunks, so `memcachio/keyv` and `memcachio` hand out one `Client` class.
  splitting: true,
  external: ["prom-client", "keyv", "@opentelemetry/api", "@opentelemetry/instrumentation"],
});
