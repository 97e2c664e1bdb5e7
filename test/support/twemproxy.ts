/**
 * A real twemproxy (`nutcracker`) in front of real memcached servers, for tests and benches: one
 * pool on a free loopback port, `hash: md5` + `distribution: ketama` (what `HashRing` places keys
 * like), servers never ejected (a test that wants a proxy to fail over says so). Installed with
 * apt-get when missing, like memcached.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findTool, freePort, killOnExit, listening, type MemcachedServer } from "./memcached.ts";

export class Twemproxy {
  readonly host = "127.0.0.1";
  port = 0;
  #proc: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  readonly #dir = mkdtempSync(join(tmpdir(), "memcachio-nutcracker-"));

  constructor(readonly backends: readonly MemcachedServer[]) {}

  /** `"127.0.0.1:port"`: the one server a client behind the proxy is given. */
  get label(): string {
    return `${this.host}:${this.port}`;
  }

  async start(): Promise<this> {
    const bin = findTool("nutcracker", "nutcracker");
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = await freePort();
      const statsPort = await freePort();
      const conf = join(this.#dir, "nutcracker.yml");
      writeFileSync(
        conf,
        [
          "pool:",
          `  listen: ${this.host}:${this.port}`,
          "  hash: md5",
          "  distribution: ketama",
          "  timeout: 2000",
          "  auto_eject_hosts: false",
          "  servers:",
          ...this.backends.map((b) => `   - ${b.host}:${b.port}:1`),
          "",
        ].join("\n"),
      );
      const proc = spawn(
        bin,
        ["-c", conf, "-s", String(statsPort), "-a", this.host, "-o", join(this.#dir, "log")],
        {
          stdio: "ignore",
        },
      );
      this.#proc = proc;
      killOnExit(proc);
      this.#exited = new Promise((resolve) => proc.once("close", () => resolve()));
      // A free port may be taken meanwhile: the next attempt picks another.
      if (await listening(proc, { host: this.host, port: this.port })) return this;
      await this.kill();
    }
    throw new Error("nutcracker did not start");
  }

  async kill(): Promise<void> {
    const proc = this.#proc;
    this.#proc = null;
    if (proc !== null && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await this.#exited;
  }

  /** Kills it and removes its configuration. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Starts nutcracker in front of `backends` and waits until it accepts connections. */
export function startTwemproxy(backends: readonly MemcachedServer[]): Promise<Twemproxy> {
  return new Twemproxy(backends).start();
}
