/**
 * One socket to one memcached server, pipelined.
 *
 *   send(req) ─▶ pending (Denque, not on the wire) ─flush─▶ in-flight FIFO (Denque) ─reply─▶ handler
 *                 ▲ bounded by maxQueue                       ▲ bounded by maxInFlight
 *
 * - Writes: every request sent during one event-loop turn is encoded into the connection's {@link Writer}
 *   and written with one `socket.write` (flush on `setImmediate`, after the turn's I/O callbacks). When `write()` returns
 *   false, nothing more is written until `drain`.
 * - Reads (plain TCP): the socket reads into one 64 KiB buffer per connection, reused for every read
 *   (`onread`), instead of a fresh buffer per read; the parsers keep nothing of a chunk after `feed`
 *   returns. (TLS sockets deliver `data` events as usual.)
 * - Replies come back in order; each one goes to the head of the FIFO. Its handler checks the
 *   opaque; a mismatch or an unsolicited reply is a `ProtocolError` that destroys the connection and
 *   fails everything in flight with `ConnectionError` — never a wrong value to a caller.
 * - Deadlines: no timer per request. The shared ticker (`util/ticker.ts`) calls {@link Connection.onTick}
 *   while requests wait. A request past its deadline fails with `TimeoutError`: a queued one is never
 *   sent, a written one keeps its FIFO slot so its late reply is read and dropped.
 * - Hung server: replies owed and no byte read for `socketTimeout` → `SocketTimeoutError`, destroy.
 * - TLS nudge: memcached 1.6's TLS code does not look for records OpenSSL has already read off the
 *   socket, so a pipelined burst can stop halfway until more bytes arrive (seen with 1.6.18: 300
 *   pipelined 1 KiB sets, 290 answered, the rest only after the next write). A TLS connection that
 *   owes replies and has read nothing for {@link NUDGE_MS} sends a no-op (`mn` / Noop), which wakes
 *   the server up; its reply is checked and dropped. Without reads, the gap doubles each time.
 * - Reconnect: lazily, on the next request. How often a failing server is tried again is the
 *   cluster layer's decision (server health, `failover.retryDelay`), not the connection's.
 */
import { isIP, Socket, type SocketConstructorOpts } from "node:net";
import {
  connect as tlsConnect,
  type ConnectionOptions as TlsConnectionOptions,
  type TLSSocket,
} from "node:tls";
import Denque from "denque";
import {
  AuthError,
  ClientClosedError,
  ConnectionError,
  ConnectTimeoutError,
  MemcachedError,
  ProtocolError,
  QueueFullError,
  SocketTimeoutError,
  TimeoutError,
  TLSError,
} from "../errors.js";
import { encodeBinary } from "../protocol/binary/encoder.js";
import { BinaryParser } from "../protocol/binary/parser.js";
import { encodeMeta } from "../protocol/meta/encoder.js";
import { MetaParser } from "../protocol/meta/parser.js";
import { connectionCloseChannel, connectionOpenChannel } from "../diagnostics.js";
import { Op, QUEUED, type Reply, Request, SETTLED, WRITTEN } from "../protocol/request.js";
import { Writer } from "../protocol/writer.js";
import { labelOf } from "../util/servers.js";
import { registerTick, type Tickable, unregisterTick } from "../util/ticker.js";
import type { Credentials } from "./credentials.js";
import { handshakeHandlers } from "./handshake.js";

/** Settings of one connection (resolved by the client). */
export interface ConnectionOptions {
  host: string;
  port: number;
  connectTimeout: number;
  /** No byte for this long while replies are owed → the server is hung. */
  socketTimeout: number;
  maxInFlight: number;
  maxQueue: number;
  maxValueSize: number;
  keepAlive: boolean;
  /** Send `version` first on every new socket and check the answer (a peer that is not memcached fails fast). */
  handshake?: boolean;
  /** Wire protocol. Default `"meta"`. */
  protocol?: "meta" | "binary";
  /** TLS options (`tls.connect`), or null/absent for plain TCP. */
  tls?: TlsConnectionOptions | null;
  /** Credentials sent first on every new socket (SASL PLAIN for binary, ASCII auth for meta). */
  auth?: Credentials | null;
}

/** Callbacks for the owner (health tracking, diagnostics). All optional. */
export interface ConnectionEvents {
  onOpen?(conn: Connection): void;
  /** The socket closed: `error` when it failed (connect error, I/O error, protocol error, hang). */
  onClose?(conn: Connection, error: Error | undefined): void;
  /** A written request reached its deadline without a reply. */
  onTimeout?(conn: Connection): void;
}

const ignore = (): void => {};

const IDLE = 0; // no socket
const CONNECTING = 1;
const READY = 2;
const CLOSED = 3;

/** Largest opaque before wrapping to 0 (stays a small decimal token). */
const OPAQUE_WRAP = 1_000_000_000;
/** Socket buffer (user space) above which `write()` reports backpressure and we wait for `drain`. */
const WRITE_HIGH_WATER = 1024 * 1024;
/** Size of the buffer a plain socket reads into (Node's own read size). */
const READ_BUFFER = 64 * 1024;
/** Flush early once this much is encoded, so one tick's burst does not build one huge buffer. */
const HIGH_WATER = 256 * 1024;
/** TLS: silence (replies owed, nothing read) after which a no-op nudges the server. */
export const NUDGE_MS = 10;

export class Connection implements Tickable {
  /** `"host:port"`. */
  readonly label: string;
  readonly #o: ConnectionOptions;
  readonly #events: ConnectionEvents;
  #state = IDLE;
  #closing = false;
  #socket: Socket | null = null;
  readonly #pending = new Denque<Request>();
  readonly #inflight = new Denque<Request>();
  readonly #writer = new Writer();
  readonly #parser: MetaParser | BinaryParser;
  readonly #binary: boolean;
  #opaque = 0;
  #flushScheduled = false;
  /**
   * Clock reading taken when the pending flush was scheduled. Requests queued before that flush
   * runs were all made in the same event-loop turn: they take their deadline from it (one clock read
   * per batch, not per request; a deadline can only come early, by the turn's synchronous work).
   */
  #batchNow = 0;
  #writeBlocked = false;
  #registered = false;
  /** Lower bound of the earliest deadline among waiting requests. */
  #minDeadline = Number.POSITIVE_INFINITY;
  /** Hang detection: data events seen, and since when we have waited with no byte (-1: reset at next tick). */
  #reads = 0;
  #sent = 0;
  /** Latency sampling: one request per written batch (one clock read per batch, not per request). */
  #sample: Request | null = null;
  #sampleAt = 0;
  #latency = -1;
  #readsSeen = 0;
  #waitingSince = -1;
  /** TLS nudge: when the last one was sent (performance.now() clock), and the silence before the next. */
  #nudgedAt = 0;
  #nudgeGap = NUDGE_MS;
  #connectTimer: NodeJS.Timeout | null = null;
  #drained: (() => void) | null = null;

  // Handlers bound once per connection, not per request.
  readonly #flushBound = () => this.#flush();
  readonly #onData = (chunk: Buffer) => this.#data(chunk);
  /** Plain TCP: the buffer every read lands in (allocated at the first connect), and its callback. */
  #readBuf: Buffer | null = null;
  readonly #onRead = (n: number, buf: Buffer): boolean => {
    this.#data(buf.subarray(0, n));
    return true;
  };
  readonly #onDrain = () => {
    this.#writeBlocked = false;
    this.#flush();
  };
  readonly #onReplyBound = (reply: Reply) => this.#onReply(reply);

  constructor(options: ConnectionOptions, events: ConnectionEvents = {}) {
    this.#o = options;
    this.#events = events;
    this.label = labelOf(options);
    this.#binary = options.protocol === "binary";
    this.#parser = this.#binary
      ? new BinaryParser(this.#onReplyBound, options.maxValueSize)
      : new MetaParser(this.#onReplyBound, options.maxValueSize);
  }

  /** Requests written and not yet answered (timed-out ones whose reply is still owed included). */
  get inFlight(): number {
    return this.#inflight.length;
  }

  /** Requests waiting to be written. */
  get queued(): number {
    return this.#pending.length;
  }

  /** Round-trip latency, ms: an exponentially weighted average of one sampled request per batch; -1 before any. */
  get latency(): number {
    return this.#latency;
  }

  /** Requests sent on this connection so far (idle detection by the pool). */
  get sent(): number {
    return this.#sent;
  }

  /** Requests waiting or in flight: how busy the connection is. */
  get load(): number {
    return this.#pending.length + this.#inflight.length;
  }

  /** Closed for good (by close() or destroy()). */
  get closed(): boolean {
    return this.#state === CLOSED || this.#closing;
  }

  /** Number of reads (data events) so far: a cheap sign of life for health tracking. */
  get reads(): number {
    return this.#reads;
  }

  /** Whether a socket is open and usable. */
  get connected(): boolean {
    return this.#state === READY;
  }

  /** Queues `req`; it settles through its own promise (never throws). */
  send(req: Request): void {
    if (this.#state === CLOSED || this.#closing) {
      req.fail(new ClientClosedError("the client is closed", { server: this.label }));
      return;
    }
    if (this.#pending.length >= this.#o.maxQueue) {
      req.fail(
        new QueueFullError(`${this.#pending.length} requests already queued (maxQueue)`, {
          server: this.label,
        }),
      );
      return;
    }
    if (this.#state === IDLE) {
      this.#connect();
    }
    let now: number;
    if (this.#flushScheduled) now = this.#batchNow;
    else {
      now = performance.now();
      if (this.#state === READY && !this.#writeBlocked) {
        this.#flushScheduled = true;
        this.#batchNow = now;
        setImmediate(this.#flushBound);
      }
    }
    // A request sent again (retry, failover) keeps the deadline of the caller's call. A read shared
    // over replicas gets its share of the time on this attempt (see Router.onFail).
    let deadline = req.deadline;
    if (deadline === 0) {
      req.finalDeadline = now + req.timeout;
      deadline = req.split === 1 ? req.finalDeadline : now + req.timeout / req.split;
      req.deadline = deadline;
    }
    this.#pending.push(req);
    this.#sent++;
    if (deadline < this.#minDeadline) this.#minDeadline = deadline;
    if (!this.#registered) {
      this.#registered = true;
      registerTick(this);
    }
  }

  /** Stops taking requests, lets the waiting ones finish (or time out), then closes the socket. */
  close(): Promise<void> {
    if (this.#state === CLOSED) return Promise.resolve();
    this.#closing = true;
    if (this.#pending.length === 0 && this.#inflight.length === 0) {
      this.#shutdown();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const prev = this.#drained;
      this.#drained = () => {
        prev?.();
        resolve();
      };
    });
  }

  /** Closes now: waiting requests fail with `ClientClosedError`. */
  destroy(): void {
    this.#closing = true;
    const err = new ClientClosedError("the client was destroyed", { server: this.label });
    this.#failAll(this.#pending, err);
    this.#teardown(err);
    this.#shutdown();
  }

  // ── connecting ──────────────────────────────────────────────────────────────

  #connect(): void {
    this.#state = CONNECTING;
    const o = this.#o;
    let socket: Socket;
    if (o.tls != null) {
      // The certificate is checked against `servername` (SNI), or against the IP when the host is one.
      const servername = o.tls.servername ?? (isIP(o.host) === 0 ? o.host : undefined);
      const tlsSocket: TLSSocket = tlsConnect({
        ...o.tls,
        host: o.host,
        port: o.port,
        ...(servername === undefined ? {} : { servername }),
        highWaterMark: WRITE_HIGH_WATER,
      } as TlsConnectionOptions);
      tlsSocket.once("secureConnect", () => this.#onConnect(tlsSocket));
      socket = tlsSocket;
    } else {
      // Node's default 16 KiB high-water mark reports backpressure on every pipelined batch of sets;
      // 1 MiB keeps the pipeline full while still bounding what waits in user space.
      // (net.Socket passes Duplex options through; @types/node 20 does not list this one.)
      // `onread`: reads land in one reused buffer, not a fresh 64 KiB allocation per read (no `data`
      // events then): ~12 % less client CPU per get and ~9 % per getMany key, measured A/B.
      this.#readBuf ??= Buffer.allocUnsafe(READ_BUFFER);
      socket = new Socket({
        writableHighWaterMark: WRITE_HIGH_WATER,
        onread: { buffer: this.#readBuf, callback: this.#onRead },
      } as SocketConstructorOpts);
      const plain = socket;
      socket.once("connect", () => this.#onConnect(plain));
    }
    this.#socket = socket;
    socket.setNoDelay(true);
    if (o.keepAlive) socket.setKeepAlive(true, 30_000);
    if (o.tls != null) socket.on("data", this.#onData);
    socket.on("drain", this.#onDrain);
    socket.on("error", (err) => this.#onSocketError(socket, err));
    socket.on("close", () => this.#onSocketClose(socket));
    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = null;
      if (this.#socket === socket && this.#state === CONNECTING) {
        this.#connectFailed(
          new ConnectTimeoutError(
            `connecting to ${this.label}${o.tls != null ? " (TLS)" : ""} took over ${o.connectTimeout} ms`,
            { server: this.label },
          ),
        );
      }
    }, o.connectTimeout);
    this.#connectTimer.unref();
    if (o.tls == null) socket.connect({ host: o.host, port: o.port });
  }

  #onConnect(socket: Socket): void {
    if (this.#socket !== socket) return;
    this.#clearConnectTimer();
    this.#state = READY;
    if (connectionOpenChannel.hasSubscribers) connectionOpenChannel.publish({ server: this.label });
    // First on the wire, ahead of whatever waited for the connection: authentication, then the
    // `version` handshake. Requests queued behind them are pipelined in the same write; a server
    // refuses them while the connection is not authenticated, and a refused auth fails them all.
    const h = handshakeHandlers(this.#binary);
    const hello: Request[] = [];
    const auth = this.#o.auth;
    if (auth != null) {
      if (this.#binary) hello.push(this.#hello(Op.AuthMechs, h.mechs, ""));
      hello.push(
        this.#hello(
          Op.Auth,
          h.auth,
          this.#binary ? "PLAIN" : "_",
          this.#binary ? auth.saslPlain() : auth.ascii(),
        ),
      );
    }
    if (this.#o.handshake === true) hello.push(this.#hello(Op.Version, h.version, ""));
    for (let i = hello.length - 1; i >= 0; i--) this.#pending.unshift(hello[i]!);
    this.#events.onOpen?.(this);
    this.#flush();
  }

  /** A request of the connection's own (auth, handshake), with the connect deadline. */
  #hello(op: Op, handler: Request["handler"], key: string, value: Buffer | null = null): Request {
    const req = new Request(op, handler, this.#o.connectTimeout);
    req.deadline = performance.now() + this.#o.connectTimeout;
    req.key = key;
    if (value !== null) {
      req.value = value;
      req.valueLength = value.length;
    }
    req.promise.catch(ignore);
    if (req.deadline < this.#minDeadline) this.#minDeadline = req.deadline;
    if (!this.#registered) {
      this.#registered = true;
      registerTick(this);
    }
    return req;
  }

  #connectFailed(error: Error): void {
    this.#clearConnectTimer();
    const socket = this.#socket;
    this.#socket = null;
    this.#state = this.#closing ? CLOSED : IDLE;
    socket?.destroy();
    const err =
      error instanceof MemcachedError
        ? error
        : isTlsError(error)
          ? new TLSError(`TLS handshake with ${this.label} failed: ${error.message}`, {
              server: this.label,
              cause: error,
            })
          : new ConnectionError(`cannot connect to ${this.label}: ${error.message}`, {
              server: this.label,
              cause: error,
            });
    this.#failAll(this.#pending, err);
    this.#events.onClose?.(this, err);
    this.#maybeIdle();
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer !== null) {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = null;
    }
  }

  #onSocketError(socket: Socket, err: Error): void {
    if (this.#socket !== socket) return;
    if (this.#state === CONNECTING) this.#connectFailed(err);
    else {
      this.#fatal(
        new ConnectionError(`connection to ${this.label} failed: ${err.message}`, {
          server: this.label,
          cause: err,
        }),
      );
    }
  }

  #onSocketClose(socket: Socket): void {
    if (this.#socket !== socket) return;
    if (this.#state === CONNECTING) {
      this.#connectFailed(
        new ConnectionError(`${this.label} closed the connection while connecting`, { server: this.label }),
      );
    } else {
      this.#fatal(new ConnectionError(`${this.label} closed the connection`, { server: this.label }));
    }
  }

  // ── writing ─────────────────────────────────────────────────────────────────

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#state !== READY || this.#writeBlocked) return;
    const pending = this.#pending;
    const inflight = this.#inflight;
    const max = this.#o.maxInFlight;
    const w = this.#writer;
    const wasIdle = inflight.length === 0;
    let wrote = false;
    let first: Request | null = null;
    while (pending.length > 0 && inflight.length < max) {
      const req = pending.shift()!;
      if (req.state !== QUEUED) continue; // timed out or aborted before it was written: never sent
      this.#encode(req);
      wrote = true;
      first ??= req;
      if (w.length >= HIGH_WATER && !this.#write()) break;
    }
    if (!wrote) return;
    if (wasIdle) this.#waitingSince = -1;
    if (this.#sample === null) {
      this.#sample = first;
      this.#sampleAt = performance.now();
    }
    this.#write();
  }

  /** Encodes `req` into the writer with the next opaque(s) and moves it in flight. */
  #encode(req: Request): void {
    const w = this.#writer;
    const used = this.#binary ? encodeBinary(w, req, this.#opaque) : encodeMeta(w, req, this.#opaque);
    this.#opaque += used;
    if (this.#opaque >= OPAQUE_WRAP) this.#opaque = 0;
    req.state = WRITTEN;
    this.#inflight.push(req);
  }

  /** Writes what the writer holds; false when the socket asks us to wait for `drain`. */
  #write(): boolean {
    const chunks = this.#writer.finish();
    const socket = this.#socket!;
    let ok = true;
    if (chunks.length === 1) ok = socket.write(chunks[0]!);
    else if (chunks.length > 1) {
      socket.cork();
      for (const c of chunks) ok = socket.write(c);
      socket.uncork();
    }
    if (!ok) this.#writeBlocked = true;
    // A plain socket with nothing left in its buffer has handed every byte to the kernel: the slab
    // can be reused. (Not over TLS, whose layer may keep cleartext until it can encrypt it.)
    else if (this.#o.tls == null && socket.writableLength === 0) this.#writer.rewind();
    return ok;
  }

  // ── reading ─────────────────────────────────────────────────────────────────

  #data(chunk: Buffer): void {
    this.#reads++;
    try {
      this.#parser.feed(chunk);
    } catch (err) {
      this.#fatal(
        err instanceof MemcachedError
          ? err
          : new ProtocolError(`reply handling failed: ${(err as Error).message}`, { cause: err }),
      );
      return;
    }
    if (this.#pending.length > 0 && !this.#flushScheduled && this.#inflight.length < this.#o.maxInFlight) {
      this.#flushScheduled = true;
      this.#batchNow = performance.now();
      setImmediate(this.#flushBound);
    }
    if (this.#inflight.length === 0) this.#maybeIdle();
  }

  #onReply(reply: Reply): void {
    const req = this.#inflight.peekFront();
    if (req === undefined) {
      throw new ProtocolError(`unsolicited reply ${JSON.stringify(reply.line())} with no request in flight`);
    }
    if (req.handler.onReply(req, reply)) {
      this.#inflight.shift();
      if (req === this.#sample) {
        const ms = performance.now() - this.#sampleAt;
        this.#latency = this.#latency < 0 ? ms : this.#latency * 0.8 + ms * 0.2;
        this.#sample = null;
      }
    }
  }

  // ── failures ────────────────────────────────────────────────────────────────

  /**
   * The socket is unusable (I/O error, protocol error, hang): destroy it and fail what is in flight
   * (those requests may or may not have run). Queued requests were never written: they go out on a
   * new connection.
   */
  #fatal(error: MemcachedError): void {
    if (this.#socket === null) return;
    const err = error instanceof ConnectionError ? error : wrap(error, this.label);
    this.#teardown(err);
    // Refused credentials: what waits would only be refused too (and reconnecting would repeat it).
    if (err instanceof AuthError) this.#failAll(this.#pending, err);
    this.#events.onClose?.(this, err);
    // Failed requests may already have been sent again (retry policy), which reconnects by itself.
    if (this.#pending.length > 0 && !this.#closing && this.#state === IDLE) this.#connect();
    else this.#maybeIdle();
  }

  #teardown(err: MemcachedError): void {
    const socket = this.#socket;
    if (socket !== null && connectionCloseChannel.hasSubscribers) {
      connectionCloseChannel.publish({ server: this.label, error: err });
    }
    this.#socket = null;
    this.#state = this.#closing ? CLOSED : IDLE;
    this.#clearConnectTimer();
    this.#writeBlocked = false;
    socket?.destroy();
    this.#parser.reset();
    this.#writer.reset();
    this.#sample = null;
    this.#failAll(this.#inflight, err);
  }

  #failAll(queue: Denque<Request>, err: MemcachedError): void {
    while (queue.length > 0) queue.shift()!.fail(err);
  }

  // ── deadlines and hang detection (called by the shared ticker) ──────────────

  /** @internal */
  onTick(now: number): void {
    if (this.#inflight.length > 0) {
      if (this.#waitingSince < 0 || this.#reads !== this.#readsSeen) {
        this.#readsSeen = this.#reads;
        this.#waitingSince = now;
        this.#nudgeGap = NUDGE_MS;
      } else if (
        this.#o.tls != null &&
        now - Math.max(this.#waitingSince, this.#nudgedAt) >= this.#nudgeGap &&
        now - this.#waitingSince < this.#o.socketTimeout
      ) {
        this.#nudge(now);
      } else if (now - this.#waitingSince >= this.#o.socketTimeout) {
        this.#fatal(
          new SocketTimeoutError(
            `${this.label} sent nothing for ${Math.round(now - this.#waitingSince)} ms with ${this.#inflight.length} replies owed`,
            { server: this.label },
          ),
        );
      }
    }
    if (now >= this.#minDeadline) this.#expire(now);
    this.#maybeIdle();
  }

  /**
   * Sends a no-op ahead of what waits, so that the server reads what it left in its TLS buffer. While
   * nothing is read, the silence before the next nudge doubles (10, 20, 40 ms…): a server that is
   * really hung gets a handful of nudges before `socketTimeout`, not one per tick.
   */
  #nudge(now: number): void {
    if (this.#state !== READY) return;
    this.#nudgedAt = now;
    this.#nudgeGap *= 2;
    const req = this.#hello(Op.Noop, handshakeHandlers(this.#binary).noop, "");
    // Written at once, past maxInFlight and backpressure: a stalled server with the in-flight window
    // full would otherwise never see it. (The writer is empty between flushes.)
    this.#encode(req);
    this.#write();
  }

  /** Fails every waiting request past its deadline and recomputes the earliest deadline. */
  #expire(now: number): void {
    let min = Number.POSITIVE_INFINITY;
    let dead = 0;
    const pending = this.#pending;
    for (let i = 0; i < pending.length; i++) {
      const req = pending.peekAt(i)!;
      if (req.state === SETTLED) dead++;
      else if (req.deadline <= now) {
        req.fail(this.#timeoutError(req, now, false));
        dead++;
      } else if (req.deadline < min) min = req.deadline;
    }
    // Drop settled requests from the queue so they do not count against maxQueue.
    if (dead > 0 && dead * 4 >= pending.length) {
      const live = pending.toArray().filter((r) => r.state !== SETTLED);
      pending.clear();
      for (const r of live) pending.push(r);
    }
    const inflight = this.#inflight;
    let timedOut = false;
    for (let i = 0; i < inflight.length; i++) {
      const req = inflight.peekAt(i)!;
      if (req.state === SETTLED) continue;
      if (req.deadline <= now) {
        req.fail(this.#timeoutError(req, now, true));
        timedOut = true;
      } else if (req.deadline < min) min = req.deadline;
    }
    this.#minDeadline = min;
    if (timedOut) this.#events.onTimeout?.(this);
  }

  #timeoutError(req: Request, now: number, written: boolean): TimeoutError {
    const late = Math.round(now - req.deadline);
    return new TimeoutError(
      `request to ${this.label} timed out (${written ? "written, no reply" : "not yet written"}; ${late} ms past its deadline)`,
      { server: this.label },
    );
  }

  /** Leaves the ticker when nothing waits; finishes a pending close. */
  #maybeIdle(): void {
    if (this.#pending.length > 0 || this.#inflight.length > 0) return;
    this.#minDeadline = Number.POSITIVE_INFINITY;
    if (this.#registered) {
      this.#registered = false;
      unregisterTick(this);
    }
    if (this.#closing) this.#shutdown();
  }

  #shutdown(): void {
    this.#clearConnectTimer();
    if (this.#registered) {
      this.#registered = false;
      unregisterTick(this);
    }
    const socket = this.#socket;
    this.#socket = null;
    const wasOpen = socket !== null;
    this.#state = CLOSED;
    if (socket !== null && connectionCloseChannel.hasSubscribers)
      connectionCloseChannel.publish({ server: this.label });
    // Nothing is owed on the wire any more: close at once (the 'error' listener stays, ignoring late errors).
    socket?.destroy();
    if (wasOpen) this.#events.onClose?.(this, undefined);
    const drained = this.#drained;
    this.#drained = null;
    drained?.();
  }
}

function wrap(error: MemcachedError, server: string): ConnectionError {
  return new ConnectionError(`${error.message} (connection to ${server} reset)`, { server, cause: error });
}

/** Errors of the TLS layer (handshake, certificate checks), as opposed to TCP errors. */
function isTlsError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  return (
    code.startsWith("ERR_SSL_") ||
    code.startsWith("ERR_TLS_") ||
    code.includes("CERT") ||
    code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE" ||
    code === "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" ||
    code === "EPROTO"
  );
}
