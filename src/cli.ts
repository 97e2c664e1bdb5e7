#!/usr/bin/env node
/**
 * `npx memcachio check|stats [servers]`: a health check for monitors and a side-by-side stats view;
 * `npx memcachio dashboard|alerts`: a Grafana dashboard and Prometheus alerting rules for the metrics
 * of `memcachio/prometheus`. `--help` lists every option.
 *
 * Output is on stdout. A usage error prints one `UNKNOWN - reason` line there (a monitor reads the
 * first line) and the usage on stderr, and exits 3.
 */
import { type Command, helpText, parseCommand, USAGE, UsageError } from "./cli/arguments.js";
import { check } from "./cli/check.js";
import { OK, oneLine, reasonOf, UNKNOWN } from "./cli/report.js";
import { stats } from "./cli/stats.js";
import { packageVersion } from "./cli/version.js";
import { alertingRules } from "./prometheus/alerts.js";
import { grafanaDashboard } from "./prometheus/dashboard.js";

/** Runs the CLI with `argv` (without node and the script); returns the exit code. */
async function main(argv: string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.log(`UNKNOWN - ${oneLine(err.message)}`);
    console.error(USAGE);
    return UNKNOWN;
  }
  switch (command.command) {
    case "help":
      process.stdout.write(helpText(packageVersion()));
      return OK;
    case "version":
      console.log(packageVersion());
      return OK;
    case "dashboard":
      console.log(JSON.stringify(grafanaDashboard(command.prefix), null, 2));
      return OK;
    case "alerts":
      process.stdout.write(alertingRules(command.prefix));
      return OK;
    case "check":
      return check(command, console.log);
    case "stats":
      return stats(command, console.log);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.log(`UNKNOWN - ${reasonOf(err)}`);
    process.exitCode = UNKNOWN;
  },
);
