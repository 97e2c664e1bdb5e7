/** The version of memcachio the CLI belongs to. */
import { readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The version in memcachio's package.json, the first one found up from the running script: the
 * package's root from `dist/cli.js` (also when run through `node_modules/.bin`, a link) and from
 * `src/cli.ts`. Read at run time so the built file and the source say the same, with no build step.
 */
export function packageVersion(script: string | undefined = process.argv[1]): string {
  if (script === undefined) return "unknown";
  let dir: string;
  try {
    dir = dirname(realpathSync(script));
  } catch {
    return "unknown";
  }
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === "memcachio" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // No package.json here (or not JSON): look further up.
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}
