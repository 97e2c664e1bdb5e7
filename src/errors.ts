/**
 * Error classes. Every error memcachio raises is a {@link MemcachedError} with a stable `code`
 * (`MC_ERR_*`), the `server` it concerns (`"host:port"`, when there is one) and an optional `cause`.
 *
 * `instanceof` works across two installed copies of the package: each class checks a
 * `Symbol.for` brand rather than its prototype chain.
 */

const BRAND = Symbol.for("memcachio.error");

/** Options common to every memcachio error. */
export interface MemcachedErrorOptions {
  /** `"host:port"` of the server involved, when there is one. */
  server?: string | undefined;
  /** The lower-level error that caused this one. */
  cause?: unknown;
}

/** Base class of every error memcachio raises. */
export class MemcachedError extends Error {
  /** Stable machine-readable code, `MC_ERR_*` (set per class on the prototype). */
  declare readonly code: string;
  /** `"host:port"` of the server involved, when there is one. */
  readonly server: string | undefined;

  constructor(message: string, options?: MemcachedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.server = options?.server;
    (this as unknown as Record<symbol, string>)[BRAND] = this.code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (value === null || typeof value !== "object") return false;
    const brand = (value as Record<symbol, unknown>)[BRAND];
    if (typeof brand !== "string") return false;
    if (this === MemcachedError) return true;
    // `brand` is the concrete class's code; `this` may be one of its base classes.
    let cls: unknown = BRANDED.get(brand);
    while (typeof cls === "function") {
      if (cls === this) return true;
      cls = Object.getPrototypeOf(cls);
    }
    return false;
  }
}

function define<T extends abstract new (...args: never[]) => MemcachedError>(cls: T, code: string): T {
  Object.defineProperty(cls.prototype, "code", { value: code, writable: false });
  Object.defineProperty(cls.prototype, "name", { value: cls.name, writable: true, configurable: true });
  BRANDED.set(code, cls);
  return cls;
}

// code → class, for hasInstance across copies of the package (the code is the brand).
const BRANDED = new Map<string, unknown>();

/** The socket failed: refused, reset, closed while requests were in flight. */
export class ConnectionError extends MemcachedError {}
/** The TCP/TLS connection was not established within `connectTimeout`. */
export class ConnectTimeoutError extends ConnectionError {}
/** The server answered nothing for `socketTimeout` while replies were owed: the connection was destroyed. */
export class SocketTimeoutError extends ConnectionError {}
/** The request outlived its deadline (`timeout`). */
export class TimeoutError extends MemcachedError {}
/** The request's `AbortSignal` fired. */
export class AbortError extends MemcachedError {}
/** The server sent bytes that do not parse, or a reply that does not match the request (wrong opaque). */
export class ProtocolError extends MemcachedError {}
/** The server answered `SERVER_ERROR …` (for example: out of memory, object too large). */
export class ServerError extends MemcachedError {}
/** The server answered `CLIENT_ERROR …` or `ERROR` to a request. */
export class ClientError extends MemcachedError {}
/** The key's server is down (failing fast until a probe finds it back). Nothing was sent. */
export class ServerUnavailableError extends ConnectionError {}
/** The client has no server to send a request to. */
export class NoServersError extends MemcachedError {}
/** Too many requests are queued for a server (`maxQueue`). */
export class QueueFullError extends MemcachedError {}
/** The key is empty, too long, or cannot be sent. Nothing was sent. */
export class InvalidKeyError extends MemcachedError {}
/** The encoded value is larger than `maxValueSize`. Nothing was sent. */
export class ValueTooLargeError extends MemcachedError {}
/** The codec could not encode or decode a value. */
export class SerializationError extends MemcachedError {}
/** An argument other than the key or value is invalid (negative TTL, bad delta…). Nothing was sent. */
export class InvalidArgumentError extends MemcachedError {}
/** The client was closed; no request is accepted any more. */
export class ClientClosedError extends MemcachedError {}
/**
 * The server refused the credentials (SASL status 0x20, or `CLIENT_ERROR` to ASCII auth), or it
 * requires authentication and none is configured. The connection is closed and the server marked
 * down at once (it is probed again after `failover.retryDelay`), so a wrong password does not turn
 * into a reconnect storm. Never carries the credentials.
 */
export class AuthError extends ConnectionError {}
/** The TLS handshake failed: certificate not trusted, wrong host name, protocol mismatch. */
export class TLSError extends ConnectionError {}
/** The command does not exist in the protocol the client speaks (`fetch`, `invalidate` with binary). Nothing was sent. */
export class UnsupportedError extends MemcachedError {}

define(MemcachedError, "MC_ERR_MEMCACHED");
define(ConnectionError, "MC_ERR_CONNECTION");
define(ConnectTimeoutError, "MC_ERR_CONNECT_TIMEOUT");
define(SocketTimeoutError, "MC_ERR_SOCKET_TIMEOUT");
define(TimeoutError, "MC_ERR_TIMEOUT");
define(AbortError, "MC_ERR_ABORTED");
define(ProtocolError, "MC_ERR_PROTOCOL");
define(ServerError, "MC_ERR_SERVER");
define(ClientError, "MC_ERR_CLIENT");
define(NoServersError, "MC_ERR_NO_SERVERS");
define(ServerUnavailableError, "MC_ERR_SERVER_UNAVAILABLE");
define(QueueFullError, "MC_ERR_QUEUE_FULL");
define(InvalidKeyError, "MC_ERR_INVALID_KEY");
define(ValueTooLargeError, "MC_ERR_VALUE_TOO_LARGE");
define(SerializationError, "MC_ERR_SERIALIZATION");
define(InvalidArgumentError, "MC_ERR_INVALID_ARGUMENT");
define(ClientClosedError, "MC_ERR_CLIENT_CLOSED");
define(AuthError, "MC_ERR_AUTH");
define(TLSError, "MC_ERR_TLS");
define(UnsupportedError, "MC_ERR_UNSUPPORTED");
