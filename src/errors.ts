/**
 * Error classes. Every error memcachio raises is a {@link MemcachedError} with a stable `code`
 * (`MC_ERR_*`, listed in {@link ERROR_CODES} and typed as the literal of its class), the `server` it
 * concerns (`"host:port"`, when there is one) and an optional `cause`.
 *
 * `instanceof` works across two installed copies of the package: each class checks a
 * `Symbol.for` brand rather than its prototype chain.
 */

const BRAND = Symbol.for("memcachio.error");

/**
 * The `code` of every error class, by class name: compare `err.code` with these (or with the string
 * literals, which are checked against {@link MemcachedErrorCode}). Frozen.
 */
export const ERROR_CODES = Object.freeze({
  /** Code of {@link MemcachedError}. */
  MemcachedError: "MC_ERR_MEMCACHED",
  /** Code of {@link ConnectionError}. */
  ConnectionError: "MC_ERR_CONNECTION",
  /** Code of {@link ConnectTimeoutError}. */
  ConnectTimeoutError: "MC_ERR_CONNECT_TIMEOUT",
  /** Code of {@link SocketTimeoutError}. */
  SocketTimeoutError: "MC_ERR_SOCKET_TIMEOUT",
  /** Code of {@link TimeoutError}. */
  TimeoutError: "MC_ERR_TIMEOUT",
  /** Code of {@link AbortError}. */
  AbortError: "MC_ERR_ABORTED",
  /** Code of {@link ProtocolError}. */
  ProtocolError: "MC_ERR_PROTOCOL",
  /** Code of {@link ServerError}. */
  ServerError: "MC_ERR_SERVER",
  /** Code of {@link ClientError}. */
  ClientError: "MC_ERR_CLIENT",
  /** Code of {@link NoServersError}. */
  NoServersError: "MC_ERR_NO_SERVERS",
  /** Code of {@link ServerUnavailableError}. */
  ServerUnavailableError: "MC_ERR_SERVER_UNAVAILABLE",
  /** Code of {@link QueueFullError}. */
  QueueFullError: "MC_ERR_QUEUE_FULL",
  /** Code of {@link InvalidKeyError}. */
  InvalidKeyError: "MC_ERR_INVALID_KEY",
  /** Code of {@link ValueTooLargeError}. */
  ValueTooLargeError: "MC_ERR_VALUE_TOO_LARGE",
  /** Code of {@link SerializationError}. */
  SerializationError: "MC_ERR_SERIALIZATION",
  /** Code of {@link InvalidArgumentError}. */
  InvalidArgumentError: "MC_ERR_INVALID_ARGUMENT",
  /** Code of {@link ClientClosedError}. */
  ClientClosedError: "MC_ERR_CLIENT_CLOSED",
  /** Code of {@link AuthError}. */
  AuthError: "MC_ERR_AUTH",
  /** Code of {@link TLSError}. */
  TLSError: "MC_ERR_TLS",
  /** Code of {@link UnsupportedError}. */
  UnsupportedError: "MC_ERR_UNSUPPORTED",
} as const);

/** Every error code memcachio raises: the values of {@link ERROR_CODES}. */
export type MemcachedErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** The codes of a `ConnectionError`: its own and its subclasses' (an instance may be any of them). */
export type ConnectionErrorCode = (typeof ERROR_CODES)[
  | "ConnectionError"
  | "ConnectTimeoutError"
  | "SocketTimeoutError"
  | "ServerUnavailableError"
  | "NoServersError"
  | "AuthError"
  | "TLSError"];

/** Options common to every memcachio error. */
export interface MemcachedErrorOptions {
  /** `"host:port"` of the server involved, when there is one. */
  server?: string | undefined;
  /** The lower-level error that caused this one. */
  cause?: unknown;
}

/** Base class of every error memcachio raises. */
export class MemcachedError extends Error {
  /** Stable machine-readable code, `MC_ERR_*` (set per class on the prototype): see {@link ERROR_CODES}. */
  declare readonly code: MemcachedErrorCode;
  /** `"host:port"` of the server involved, when there is one. */
  readonly server: string | undefined;

  /** An error saying `message`, about `options.server` when given, caused by `options.cause` when given. */
  constructor(message: string, options?: MemcachedErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.server = options?.server;
    (this as unknown as Record<symbol, string>)[BRAND] = this.code;
  }

  /**
   * Whether `value` is an instance of this class or of a subclass: `instanceof` checks the error's
   * `Symbol.for` brand, not its prototype chain, so it also holds for an error from another installed
   * copy of memcachio.
   */
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

function define<T extends abstract new (...args: never[]) => MemcachedError>(
  cls: T,
  code: InstanceType<T>["code"],
): T {
  Object.defineProperty(cls.prototype, "code", { value: code, writable: false });
  Object.defineProperty(cls.prototype, "name", { value: cls.name, writable: true, configurable: true });
  BRANDED.set(code, cls);
  return cls;
}

// code → class, for hasInstance across copies of the package (the code is the brand).
const BRANDED = new Map<string, unknown>();

/** The socket failed: refused, reset, closed while requests were in flight. */
export class ConnectionError extends MemcachedError {
  declare readonly code: ConnectionErrorCode;
}
/** The TCP/TLS connection was not established within `connectTimeout`. */
export class ConnectTimeoutError extends ConnectionError {
  declare readonly code: "MC_ERR_CONNECT_TIMEOUT";
}
/** The server answered nothing for `socketTimeout` while replies were owed: the connection was destroyed. */
export class SocketTimeoutError extends ConnectionError {
  declare readonly code: "MC_ERR_SOCKET_TIMEOUT";
}
/** The request outlived its deadline (`timeout`). */
export class TimeoutError extends MemcachedError {
  declare readonly code: "MC_ERR_TIMEOUT";
}
/** The request's `AbortSignal` fired. */
export class AbortError extends MemcachedError {
  declare readonly code: "MC_ERR_ABORTED";
}
/** The server sent bytes that do not parse, or a reply that does not match the request (wrong opaque). */
export class ProtocolError extends MemcachedError {
  declare readonly code: "MC_ERR_PROTOCOL";
}
/** The server answered `SERVER_ERROR …` (for example: out of memory, object too large). */
export class ServerError extends MemcachedError {
  declare readonly code: "MC_ERR_SERVER";
}
/** The server answered `CLIENT_ERROR …` or `ERROR` to a request. */
export class ClientError extends MemcachedError {
  declare readonly code: "MC_ERR_CLIENT";
}
/** The key's server is down (failing fast until a probe finds it back). Nothing was sent. */
export class ServerUnavailableError extends ConnectionError {
  declare readonly code: "MC_ERR_SERVER_UNAVAILABLE";
}
/**
 * The client has no server to send a request to: none is up, or the list is empty. A
 * `ConnectionError`, as a down server's `ServerUnavailableError` is. Nothing was sent.
 */
export class NoServersError extends ConnectionError {
  declare readonly code: "MC_ERR_NO_SERVERS";
}
/** Too many requests are queued for a server (`maxQueue`). */
export class QueueFullError extends MemcachedError {
  declare readonly code: "MC_ERR_QUEUE_FULL";
}
/** The key is empty, too long, or cannot be sent. Nothing was sent. */
export class InvalidKeyError extends MemcachedError {
  declare readonly code: "MC_ERR_INVALID_KEY";
}
/** The encoded value is larger than `maxValueSize` (or, with `bigValues`, `bigValues.maxSize`). Nothing was sent. */
export class ValueTooLargeError extends MemcachedError {
  declare readonly code: "MC_ERR_VALUE_TOO_LARGE";
}
/** The codec could not encode or decode a value. */
export class SerializationError extends MemcachedError {
  declare readonly code: "MC_ERR_SERIALIZATION";
}
/** An argument other than the key or value is invalid (negative TTL, bad delta…). Nothing was sent. */
export class InvalidArgumentError extends MemcachedError {
  declare readonly code: "MC_ERR_INVALID_ARGUMENT";
}
/** The client was closed; no request is accepted any more. */
export class ClientClosedError extends MemcachedError {
  declare readonly code: "MC_ERR_CLIENT_CLOSED";
}
/**
 * The server refused the credentials (SASL status 0x20, or `CLIENT_ERROR` to ASCII auth), or it
 * requires authentication and none is configured. The connection is closed and the server marked
 * down at once (it is probed again after `failover.retryDelay`), so a wrong password does not turn
 * into a reconnect storm. Never carries the credentials.
 */
export class AuthError extends ConnectionError {
  declare readonly code: "MC_ERR_AUTH";
}
/** The TLS handshake failed: certificate not trusted, wrong host name, protocol mismatch. */
export class TLSError extends ConnectionError {
  declare readonly code: "MC_ERR_TLS";
}
/** The command does not exist in the protocol the client speaks (`fetch`, `invalidate` with binary). Nothing was sent. */
export class UnsupportedError extends MemcachedError {
  declare readonly code: "MC_ERR_UNSUPPORTED";
}

define(MemcachedError, ERROR_CODES.MemcachedError);
define(ConnectionError, ERROR_CODES.ConnectionError);
define(ConnectTimeoutError, ERROR_CODES.ConnectTimeoutError);
define(SocketTimeoutError, ERROR_CODES.SocketTimeoutError);
define(TimeoutError, ERROR_CODES.TimeoutError);
define(AbortError, ERROR_CODES.AbortError);
define(ProtocolError, ERROR_CODES.ProtocolError);
define(ServerError, ERROR_CODES.ServerError);
define(ClientError, ERROR_CODES.ClientError);
define(NoServersError, ERROR_CODES.NoServersError);
define(ServerUnavailableError, ERROR_CODES.ServerUnavailableError);
define(QueueFullError, ERROR_CODES.QueueFullError);
define(InvalidKeyError, ERROR_CODES.InvalidKeyError);
define(ValueTooLargeError, ERROR_CODES.ValueTooLargeError);
define(SerializationError, ERROR_CODES.SerializationError);
define(InvalidArgumentError, ERROR_CODES.InvalidArgumentError);
define(ClientClosedError, ERROR_CODES.ClientClosedError);
define(AuthError, ERROR_CODES.AuthError);
define(TLSError, ERROR_CODES.TLSError);
define(UnsupportedError, ERROR_CODES.UnsupportedError);
