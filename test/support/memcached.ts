/**
 * Real memcached processes for tests and benches: on free loopback ports, killed at the end.
 *
 * `findMemcached()` locates the binary; when it is missing and we are root on Debian/Ubuntu it runs
 * `apt-get install -y memcached`, otherwise it stops with a one-line instruction (`findTool` does the
 * same for the other tools the tests use: `saslpasswd2`, `openssl`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnection, createServer } from "node:net";

const found = new Map<string, string>();

/** Path of the memcached binary, installing it with apt-get when possible. */
export function findMemcached(): string {
  return findTool("memcached", "memcached");
}

/**
 * Path of `command`; when it is missing and we are root on Debian/Ubuntu, runs
 * `apt-get install -y <aptPackage>` first, otherwise throws a one-line instruction.
 */
export function findTool(command: string, aptPackage: string): string {
  const known = found.get(command) ?? which(command);
  if (known !== undefined) {
    found.set(command, known);
    return known;
  }
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (root && which("apt-get") !== undefined) {
    process.stderr.write(`${command} not found: installing ${aptPackage} with apt-get…\n`);
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", aptPackage], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    const after = which(command);
    if (after !== undefined) {
      found.set(command, after);
      return after;
    }
  }
  throw new Error(
    `${command} is not installed: run \`sudo apt-get install -y ${aptPackage}\` (or your system's equivalent)`,
  );
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":").concat(["/usr/bin", "/usr/sbin"])) {
    const p = `${dir}/${cmd}`;
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === "object" && addr !== null ? resolve(addr.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface MemcachedOptions {
  /** Extra command-line arguments (e.g. `["-I", "2m"]`). */
  args?: string[];
  /** Worker threads (`-t`). Default 1. */
  threads?: number;
  /** Memory in MiB (`-m`). Default 64. */
  memory?: number;
  /** Port to use (default: a free one). */
  port?: number;
  /** Extra environment variables (e.g. `SASL_CONF_PATH`). */
  env?: Record<string, string>;
  /** Listen on a Unix socket in the temp directory instead of TCP (`-s`; memcached then has no TCP). */
  unixSocket?: boolean;
  /** Loopback address to listen on. Default 127.0.0.1 (Linux routes all of 127.0.0.0/8 to lo). */
  host?: string;
}

/** A running memcached. */
export class MemcachedServer {
  readonly host: string;
  port = 0;
  /** The Unix socket's path, when it listens on one. */
  path: string | null = null;
  #proc: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  readonly #opts: MemcachedOptions;

  constructor(opts: MemcachedOptions = {}) {
    this.#opts = opts;
    this.host = opts.host ?? "127.0.0.1";
  }

  /** `"127.0.0.1:port"`, or the Unix socket's path. */
  get label(): string {
    return this.path ?? `${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(fixedPort: number | undefined = this.#opts.port): Promise<this> {
    const bin = findMemcached();
    for (let attempt = 0; attempt < 5; attempt++) {
      this.port = fixedPort ?? (await freePort());
      if (this.#opts.unixSocket === true)
        this.path ??= join(tmpdir(), `memcachio-${process.pid}-${this.port}.sock`);
      const listen =
        this.path === null ? ["-l", this.host, "-p", String(this.port)] : ["-s", this.path, "-a", "0700"];
      const args = [
        ...listen,
        "-U",
        "0",
        "-t",
        String(this.#opts.threads ?? 1),
        "-m",
        String(this.#opts.memory ?? 64),
        ...(this.#opts.args ?? []),
      ];
      if (typeof process.getuid === "function" && process.getuid() === 0) args.push("-u", "root");
      const proc = spawn(bin, args, {
        stdio: ["ignore", "ignore", "pipe"],
        ...(this.#opts.env === undefined ? {} : { env: { ...process.env, ...this.#opts.env } }),
      });
      let stderr = "";
      proc.stderr?.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      this.#proc = proc;
      this.#exited = new Promise((resolve) => proc.once("close", () => resolve()));
      killOnExit(proc);
      const where = this.path === null ? { host: this.host, port: this.port } : { path: this.path };
      if (await listening(proc, where)) return this;
      proc.kill("SIGKILL");
      await this.#exited;
      // A free port may be taken meanwhile: the next attempt picks another (or retries the fixed one).
      if (attempt === 4) throw new Error(`memcached did not start on port ${this.port}: ${stderr.trim()}`);
      await sleep(100);
    }
    throw new Error("memcached did not start");
  }

  /** SIGKILL and wait for the process to go. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (proc === null) return;
    this.#proc = null;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGCONT");
      proc.kill("SIGKILL");
    }
    await this.#exited;
    // A killed memcached leaves its socket file behind.
    if (this.path !== null) rmSync(this.path, { force: true });
  }

  /** Kills it, then starts an empty one on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start(this.port);
  }

  /** SIGSTOP, and wait until the process is stopped: the server hangs (the kernel still accepts connections). */
  async pause(): Promise<void> {
    const pid = this.#proc?.pid;
    if (pid === undefined) return;
    this.#proc!.kill("SIGSTOP");
    for (let i = 0; i < 100; i++) {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      // Field 3 is the state; T = stopped. Without /proc, give the signal a moment.
      if (stat === "" || /^\d+ \(.*\) T /.test(stat)) return;
      await sleep(5);
    }
  }

  /** SIGCONT. */
  resume(): void {
    this.#proc?.kill("SIGCONT");
  }

  /**
   * Brings it back after a test that may have failed half-way: resumed if paused, started again
   * (empty, on its port) if it was killed. Nothing to do for one that runs.
   */
  async restore(): Promise<void> {
    const proc = this.#proc;
    if (proc !== null && proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGCONT");
      return;
    }
    if (this.port === 0) return; // never started
    if (proc !== null) await this.kill();
    await this.start(this.port);
  }
}

/** {@link MemcachedServer.restore} of each: for a suite's `afterEach`, so one failed test cannot fail the next. */
export async function restoreAll(servers: readonly MemcachedServer[]): Promise<void> {
  await Promise.all(servers.map((s) => s.restore()));
}

/** Child processes still running: killed when this process exits (a failed test must not leave one behind). */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

/** Kills `proc` when this process exits, unless it has gone by then. */
export function killOnExit(proc: ChildProcess): void {
  live.add(proc);
  proc.once("close", () => live.delete(proc));
}

/** Whether `proc` accepts connections at `where` within 5 s (false as soon as it exits). */
export async function listening(
  proc: ChildProcess,
  where: { host: string; port: number } | { path: string },
): Promise<boolean> {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    if (proc.exitCode !== null || proc.signalCode !== null) return false;
    if (await canConnect(where)) return true;
    await sleep(20);
  }
  return false;
}

/** Starts one server and waits until it accepts connections. */
export async function startMemcached(opts: MemcachedOptions = {}): Promise<MemcachedServer> {
  return new MemcachedServer(opts).start();
}

function canConnect(where: { host: string; port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(where);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once `cond()` holds, checked every 10 ms; throws when `ms` pass first. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > until) throw new Error("condition not met in time");
    await sleep(10);
  }
}
