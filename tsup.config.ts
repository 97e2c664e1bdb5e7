import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/prometheus.ts", "src/keyv.ts", "src/cli.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
  splitting: false,
  external: ["prom-client", "keyv"],
});
