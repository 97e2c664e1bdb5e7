/**
 * One memcached server of the cluster: its address, its connection, and its health.
 *
 *            failureThreshold consecutive failures             probe answered
 *     ┌────┐  (a refused connection counts at once)  ┌──────┐ ───────────────▶ ┌────┐
 *     │ up │ ──────────────────────────────────────▶ │ down │                  │ up │
 *     └────┘                                         └──────┘ ◀─────────────── └────┘
 *                                      after retryDelay (doubling to            probe failed
 *                                      maxRetryDelay, jittered): one probe      (delay doubles)
 *
 * A failure is a connection error (refused, reset, hung, protocol error) or a written request that
 * reached its deadline. Failures are consecutive while the server answers nothing in between: any
 * reply completed since the last failure starts the count again (bytes alone do not: a server that
 * dribbles them while every request times out is failing). A stalled connection counts
 * once: its requests' timeouts, not also the hang detector closing it right after.
 *
 * While down, the server takes no request: the cluster fails its keys fast or moves them to the next
 * owner (ejection). The probe is a `mn` round trip sent on a timer (an ejected server gets no
 * traffic to probe with), so a down server costs callers nothing.
 */
import type { ConnectionOptions } from "../connection/connection-options.js";
import {
  AuthError,
  ConnectionError,
  NoServersError,
  ServerUnavailableError,
  SocketTimeoutError,
  TimeoutError,
  TLSError,
} from "../errors.js";
import { Attempt, type AttemptSink, type ReplyHandler } from "../connection/attempt.js";
import { Frame, Op } from "../protocol/frame.js";
import { type PoolOptions, ServerPool } from "../pool/server-pool.js";
import { labelOf, type ServerAddress } from "../util/servers.js";
import { withoutStack } from "../util/no-stack.js";

/** Health settings (resolved by the client). */
export interface HealthOptions {
  failureThreshold: number;
  retryDelay: number;
  maxRetryDelay: number;
}

/** Health transitions, for the membership. */
export interface ServerEvents {
  onDown(server: Server, error: Error): void;
  /**
   * A probe was answered: makes the server ready and puts it back ({@link Server.markUp}) — or
   * rejects, which keeps it down until the next probe.
   */
  rejoin(server: Server): Promise<void>;
  /** It closed a connection, or one failed (a reset, a refused connect): it may have restarted empty. */
  connectionLost(server: Server): void;
}

/**
 * A server's state: `"up"` (takes traffic), `"down"` (failing fast, or out of the ring with
 * `failover.eject`) or `"probing"` (one probe under way).
 */
export type ServerState = "up" | "down" | "probing";

/** The probe's reply: any answer (`MN`, or an error line) shows the server is back. */
const PROBE: ReplyHandler = {
  onReply(attempt, reply) {
    attempt.succeed(reply.name());
    return true;
  },
};
const PROBE_FRAME = new Frame(Op.Noop);

export class Server {
  readonly label: string;
  /** Its address (the weight and source change when a new list says so). */
  address: ServerAddress;
  /** Its connections. */
  readonly pool: ServerPool;
  state: ServerState = "up";
  /** A gutter server: takes the keys of down servers, with capped TTLs. */
  gutter = false;
  /** Consecutive failures. */
  failures = 0;
  /** When the next probe is due (performance.now() clock), while down. */
  nextProbeAt = 0;
  /** Last error that counted as a failure. */
  lastError: Error | undefined;
  readonly #health: HealthOptions;
  readonly #events: ServerEvents;
  readonly #probeTimeout: number;
  #delay: number;
  #answeredAtFailure = -1;
  #lastWasTimeout = false;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(
    address: ServerAddress,
    connection: Omit<ConnectionOptions, "host" | "port">,
    pool: PoolOptions,
    health: HealthOptions,
    events: ServerEvents,
  ) {
    this.address = address;
    this.label = labelOf(address);
    this.#health = health;
    this.#events = events;
    this.#delay = health.retryDelay;
    this.#probeTimeout = connection.connectTimeout;
    const where = {
      host: address.host,
      port: address.port,
      path: address.path,
      servername: address.servername,
      // A Unix socket is local: memcached serves it without TLS.
      ...(address.path === undefined ? {} : { tls: null }),
    };
    this.pool = new ServerPool({ ...connection, ...where }, pool, {
      onClose: (_c, err) => {
        if (err === undefined || this.#closed) return;
        this.#events.connectionLost(this);
        this.#failure(err);
      },
      onServerClosed: () => {
        if (!this.#closed) this.#events.connectionLost(this);
      },
      onTimeout: () =>
        this.#failure(
          withoutStack(
            () => new TimeoutError(`${this.label} did not answer in time`, { server: this.label }),
          ),
        ),
    });
  }

  /** Whether it was closed (it left the list, or the client closed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Milliseconds until the next probe, while down (0 when up). */
  get nextProbeIn(): number {
    return this.state === "up" ? 0 : Math.max(0, Math.round(this.nextProbeAt - performance.now()));
  }

  /** Stops probing and closes the connection after what is under way. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    await this.pool.close();
  }

  #failure(err: Error): void {
    if (this.#closed || this.state !== "up") return;
    const answered = this.pool.answered;
    if (answered !== this.#answeredAtFailure) {
      // The server answered something since the last failure: this one starts a new run.
      this.failures = 0;
      this.#lastWasTimeout = false;
    } else if (err instanceof SocketTimeoutError && this.#lastWasTimeout) {
      // The hang detector closing a connection whose requests just timed out: the same incident.
      return;
    }
    this.#answeredAtFailure = answered;
    this.#lastWasTimeout = err instanceof TimeoutError;
    this.failures++;
    this.lastError = err;
    // Refused connections, credentials or certificates will not get better by trying again at once.
    const refused =
      (err as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED" ||
      err instanceof AuthError ||
      err instanceof TLSError;
    if (refused || this.failures >= this.#health.failureThreshold) this.#down(err);
  }

  #down(err: Error): void {
    this.state = "down";
    this.lastError = err;
    const delay = this.#delay * (0.75 + Math.random() * 0.5);
    this.#delay = Math.min(this.#delay * 2, this.#health.maxRetryDelay);
    this.nextProbeAt = performance.now() + delay;
    this.#clearTimer();
    this.#timer = setTimeout(() => this.#probe(), delay);
    this.#timer.unref();
    this.#events.onDown(this, err);
  }

  #probe(): void {
    this.#timer = null;
    if (this.#closed) return;
    this.state = "probing";
    this.pool.send(
      new Attempt(PROBE_FRAME, PROBE, this.#probeSink, null, this, this.#probeTimeout) as Attempt,
    );
  }

  /** How the probe ended: answered → clean up, then up; failed → down again (the delay doubles). */
  readonly #probeSink: AttemptSink<null, Server> = {
    succeeded: () => {
      if (!this.#closed) this.#events.rejoin(this).catch((err: unknown) => this.#probeFailed(err));
    },
    failed: (_attempt, err) => this.#probeFailed(err),
  };

  /** Up again: takes traffic, its failure count and probe delay start over. */
  markUp(): void {
    if (this.#closed) return;
    this.state = "up";
    this.failures = 0;
    this.#answeredAtFailure = -1;
    this.#delay = this.#health.retryDelay;
  }

  /**
   * Takes the server down now (its probe, after the usual delay, brings it back through a repair):
   * for a server that must not serve until repaired.
   */
  markDown(err: Error): void {
    if (this.#closed || this.state !== "up") return;
    this.#down(err);
  }

  #probeFailed(err: unknown): void {
    if (this.#closed) return;
    this.#down(err instanceof Error ? err : new ConnectionError(String(err), { server: this.label }));
  }

  #clearTimer(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}

/** The one-line reason a server failed, for error messages (the error itself stays in `cause`). */
export function reasonOf(err: Error | undefined): string {
  if (err === undefined) return "no error recorded";
  const cause = (err as { cause?: { code?: unknown } }).cause;
  const code = typeof cause?.code === "string" && !err.message.includes(cause.code) ? `${cause.code}: ` : "";
  return `${code}${err.message}`.replace(/\s+/g, " ");
}

/** Why no server can take a request although the list has some: each one's state and reason. */
export function noServerUp(servers: readonly Server[]): string {
  const shown = servers.slice(0, 3).map((s) => `${s.label} ${s.state}: ${reasonOf(s.lastError)}`);
  const more = servers.length > shown.length ? `; and ${servers.length - shown.length} more` : "";
  return `no server is up (${shown.join("; ")}${more}); check that memcached runs and is reachable`;
}

/**
 * The error of a request with nowhere to go: `server` is down, or there is none (`servers` is the
 * list, `whyEmpty` why it is empty).
 */
export function unsentError(server: Server | undefined, servers: readonly Server[], whyEmpty: string): Error {
  if (server === undefined) {
    return new NoServersError(
      servers.length > 0 ? noServerUp(servers) : `the server list is empty: ${whyEmpty}`,
    );
  }
  const message = `${server.label} is down (${reasonOf(server.lastError)}); next probe in ${server.nextProbeIn} ms`;
  return new ServerUnavailableError(message, { server: server.label, cause: server.lastError });
}
