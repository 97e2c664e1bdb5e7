/**
 * One socket to one server, from connecting to lost: plain TCP (reading into a reused buffer) or
 * TLS, the socket options every connection wants, the connect timer, and the typed errors of a
 * socket that failed. What is written and read is the connection's business.
 */
import { isIP, type LookupFunction, Socket, type SocketConstructorOpts } from "node:net";
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { ConnectionError, ConnectTimeoutError, MemcachedError, TLSError } from "../errors.js";
import type { Transport } from "./transport.js";
import type { HostPin } from "./host-pin.js";
import { withoutStack } from "../util/no-stack.js";

/** Socket buffer (user space) above which `write()` reports backpressure and we wait for `drain`. */
export const WRITE_HIGH_WATER = 1024 * 1024;
/** Size of the buffer a plain socket reads into (Node's own read size). */
export const READ_BUFFER = 64 * 1024;

let readBuffer: Buffer | null = null;

/**
 * The one buffer every plain socket reads into. Reads are handed over one at a time on the main
 * thread, and what is read is parsed (and anything kept, copied) before the callback returns — as
 * one socket's reads already reuse it — so a thousand connections need 64 KiB, not 64 MiB.
 */
export function sharedReadBuffer(): Buffer {
  readBuffer ??= Buffer.allocUnsafe(READ_BUFFER);
  return readBuffer;
}

/** Where and how to connect. */
export interface DialOptions {
  host: string;
  port: number;
  /** A Unix domain socket instead of `host:port` (never TLS). */
  path?: string | undefined;
  /** Name the certificate must carry when `host` is an IP (an address found by discovery). */
  servername?: string | undefined;
  /** Resolves `host` (the client's resolver); the system's when absent. */
  lookup?: LookupFunction | undefined;
  keepAlive: boolean;
  connectTimeout: number;
  tls?: TlsConnectionOptions | null | undefined;
  /** Makes the socket instead of the network (the simulator's); see `transport.ts`. */
  transport?: Transport | null | undefined;
  /** The address the server's connections share, for a server named by a host name (see `host-pin.ts`). */
  pin?: HostPin | null | undefined;
}

/** What a link tells its connection. Bound once per connection; `link` says which socket spoke. */
export interface LinkEvents {
  onReady(link: Link): void;
  /** Bytes read (a view valid only during the call: plain sockets reuse their read buffer). */
  onBytes(link: Link, chunk: Buffer): void;
  onDrain(link: Link): void;
  /**
   * The server closed its side (FIN). Nothing is written to the link after this: it is dead, and
   * what was never written can go out on a new socket.
   */
  onEnd(link: Link): void;
  /** The socket failed or closed; `connecting`: before it was ready. The link is then dead. */
  onLost(link: Link, error: MemcachedError, connecting: boolean): void;
}

/**
 * One socket's life: connecting (bounded by `connectTimeout`), ready, lost. A plain socket reads
 * into `readBuf` (`onread`: no fresh 64 KiB buffer per read). Node's default 16 KiB high-water mark
 * reports backpressure on every pipelined batch of sets; {@link WRITE_HIGH_WATER} keeps the pipeline
 * full while still bounding what waits in user space.
 */
export class Link {
  readonly socket: Socket;
  #connecting = true;
  #dead = false;
  /** Some byte was read: the peer speaks back (a TLS port read as plain TCP resets before any). */
  #heard = false;
  #timer: NodeJS.Timeout | null;
  /** Its socket reached another address than the server's other connections (see `host-pin.ts`). */
  elsewhere = false;
  /** The pin it counts as open at, until destroyed. */
  #pin: HostPin | null = null;

  constructor(given: DialOptions, label: string, readBuf: Buffer, events: LinkEvents) {
    const o = given.pin?.dialOptions(given) ?? given;
    const onReady = () => {
      if (this.#dead) return;
      this.#connecting = false;
      this.#clearTimer();
      const at = this.socket.remoteAddress;
      if (o.pin != null && at !== undefined) {
        if (o.pin.opened(at)) this.#pin = o.pin;
        else this.elsewhere = true;
      }
      events.onReady(this);
    };
    let socket: Socket;
    if (o.transport != null) {
      socket = o.transport(o);
      socket.once("connect", onReady);
      socket.on("data", (chunk: Buffer) => {
        this.#heard = true;
        events.onBytes(this, chunk);
      });
    } else if (o.tls != null && o.path === undefined) {
      // The certificate is checked against `servername` (SNI), or against the IP when the host is one.
      const servername = o.tls.servername ?? o.servername ?? (isIP(o.host) === 0 ? o.host : undefined);
      socket = tlsConnect({
        ...o.tls,
        host: o.host,
        port: o.port,
        ...(o.lookup === undefined ? {} : { lookup: o.lookup }),
        ...(servername === undefined ? {} : { servername }),
        highWaterMark: WRITE_HIGH_WATER,
      } as TlsConnectionOptions);
      socket.once("secureConnect", onReady);
      socket.on("data", (chunk: Buffer) => {
        this.#heard = true;
        events.onBytes(this, chunk);
      });
    } else {
      // (net.Socket passes Duplex options through; @types/node 20 does not list this one.)
      socket = new Socket({
        writableHighWaterMark: WRITE_HIGH_WATER,
        onread: {
          buffer: readBuf,
          callback: (n: number, buf: Buffer) => {
            this.#heard = true;
            events.onBytes(this, buf.subarray(0, n));
            return true;
          },
        },
      } as SocketConstructorOpts);
      socket.once("connect", onReady);
    }
    this.socket = socket;
    if (o.path === undefined) {
      socket.setNoDelay(true);
      if (o.keepAlive) socket.setKeepAlive(true, 30_000);
    }
    socket.on("drain", () => events.onDrain(this));
    const lost = (error: MemcachedError) => {
      if (this.#dead) return;
      const connecting = this.#connecting;
      this.destroy();
      events.onLost(this, error, connecting);
    };
    const tls = o.tls != null && o.path === undefined;
    socket.on("error", (err) =>
      lost(
        withoutStack(() =>
          this.#connecting
            ? connectError(label, err, tls)
            : new ConnectionError(`connection to ${label} failed: ${err.message}${this.#tlsHint(tls)}`, {
                server: label,
                cause: err,
              }),
        ),
      ),
    );
    socket.on("end", () => {
      if (this.#dead) return;
      if (this.#connecting) return; // 'close' follows, reported as a failed connect
      this.destroy();
      events.onEnd(this);
    });
    socket.on("close", () => {
      const how = this.#connecting ? " while connecting" : this.#tlsHint(tls);
      lost(
        withoutStack(() => new ConnectionError(`${label} closed the connection${how}`, { server: label })),
      );
    });
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#connecting) return;
      const how = o.tls != null && o.path === undefined ? " (TLS)" : "";
      const message = `connecting to ${label}${how} took over ${o.connectTimeout} ms`;
      lost(withoutStack(() => new ConnectTimeoutError(message, { server: label })));
    }, o.connectTimeout);
    this.#timer.unref();
    if (o.transport != null) return; // already connecting
    if (o.path !== undefined) socket.connect({ path: o.path });
    else if (o.tls == null) {
      socket.connect({ host: o.host, port: o.port, ...(o.lookup === undefined ? {} : { lookup: o.lookup }) });
    }
  }

  /**
   * A plain socket that the server dropped before saying anything: a TLS-only port does that with
   * the bytes of a request.
   */
  #tlsHint(tls: boolean): string {
    return tls || this.#heard ? "" : TLS_EXPECTED;
  }

  /** Closes the socket; nothing more is reported (late errors are swallowed by its listener). */
  destroy(): void {
    this.#pin?.closed();
    this.#pin = null;
    this.#dead = true;
    this.#clearTimer();
    this.socket.destroy();
  }

  #clearTimer(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
}

/** Said of a plain connection the server dropped before it answered anything. */
const TLS_EXPECTED = " before answering anything (if this port expects TLS, set the client's `tls` option)";
/** Said of a TLS handshake answered by something that does not speak TLS. */
const TLS_NOT_SPOKEN =
  " (the server does not seem to speak TLS on this port: is it a plain port? then leave `tls` out)";

/** The typed error for a connect that failed with `error`. */
function connectError(label: string, error: Error, tls: boolean): MemcachedError {
  if (error instanceof MemcachedError) return error;
  if (isTlsError(error)) {
    const code = (error as { code?: unknown }).code;
    const hint =
      code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG"
        ? TLS_NOT_SPOKEN
        : "";
    return new TLSError(`TLS handshake with ${label} failed: ${error.message.trim()}${hint}`, {
      server: label,
      cause: error,
    });
  }
  // A reset during a TLS handshake: the port may well be a plain one that dropped the hello.
  const reset = tls && (error as { code?: unknown }).code === "ECONNRESET";
  return new ConnectionError(`cannot connect to ${label}: ${error.message}${reset ? TLS_NOT_SPOKEN : ""}`, {
    server: label,
    cause: error,
  });
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
