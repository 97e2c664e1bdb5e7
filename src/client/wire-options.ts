/**
 * The options that say how a client speaks to its servers — protocol, proxy, TLS, credentials — and
 * their validation.
 */
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { Credentials } from "../connection/credentials.js";
import { InvalidArgumentError } from "../errors.js";

/**
 * Wire protocol: `"meta"` (memcached ≥ 1.6, the default), `"binary"` (SASL, older servers) or
 * `"text"` (the classic ASCII protocol: twemproxy, mcrouter, old servers).
 */
export type Protocol = "meta" | "binary" | "text";

/** A proxy the client speaks to instead of memcached (see {@link WireOptions.proxy}). */
export type ProxyKind = "twemproxy";

/** Credentials for {@link WireOptions.auth}. */
export interface AuthOptions {
  /** SASL user (binary) or auth-file user (meta and text, `memcached -Y`); no spaces or NUL bytes. */
  username: string;
  /** Kept in a private field: never in errors, events, diagnostics or `inspect` output. */
  password: string;
}

/** How the client speaks to its servers. */
export interface WireOptions {
  /**
   * Wire protocol. `"meta"` (default) has every command; `"binary"` has all but `fetch` and
   * `invalidate` (they reject with `UnsupportedError`), and is needed for SASL (`memcached -S`).
   * `"text"` is the classic protocol, for proxies that speak nothing else: it has all but `fetch`
   * and `invalidate`, and refuses keys that are not printable ASCII (`InvalidKeyError`: it has no
   * base64 form); `incr`/`decr` with `initial` are emulated (see the README).
   */
  protocol?: Protocol | undefined;
  /**
   * The servers are proxies of this kind: `"twemproxy"` (nutcracker) speaks only the text protocol
   * (the default `protocol` then) and forwards only key commands; `getAndTouch`, `stats` and
   * `flush` reject with `UnsupportedError` instead of being sent (twemproxy would close the
   * connection). Point `servers` at the proxy and let it shard.
   */
  proxy?: ProxyKind | undefined;
  /**
   * TLS (`memcached -Z`): `true`, or `tls.connect` options (`ca`, `cert`, `key`, `servername`,
   * `rejectUnauthorized`…). Certificates are verified by default; `servername` defaults to the
   * server's host when it is a name. A failed handshake is a `TLSError`. Off by default.
   */
  tls?: boolean | TlsConnectionOptions | undefined;
  /**
   * Credentials, sent first on every new connection: SASL PLAIN with `protocol: "binary"`
   * (`memcached -S`), ASCII auth with `"meta"` or `"text"` (`memcached -Y <authfile>`). Refused
   * credentials are an `AuthError` and mark the server down. The password is kept out of errors,
   * events and `inspect`.
   */
  auth?: AuthOptions | undefined;
}

/** The `protocol` option, checked: as given, else the proxy's, else meta. */
export function protocolOption(p: Protocol | undefined, proxy: ProxyKind | null): Protocol {
  if (p === undefined) return proxy === "twemproxy" ? "text" : "meta";
  if (p !== "meta" && p !== "binary" && p !== "text") {
    throw new InvalidArgumentError('protocol must be "meta", "binary" or "text"');
  }
  if (proxy === "twemproxy" && p !== "text") {
    throw new InvalidArgumentError(
      `proxy "twemproxy" speaks only the text protocol, not "${p}": set protocol: "text" (or leave it out)`,
    );
  }
  return p;
}

/** The `proxy` option, checked; null when there is none. */
export function proxyOption(p: ProxyKind | undefined): ProxyKind | null {
  if (p === undefined) return null;
  if (p !== "twemproxy") throw new InvalidArgumentError('proxy must be "twemproxy" (or left out)');
  return p;
}

/** What the options a proxy rules out look like once resolved. */
interface BehindProxy {
  proxy: ProxyKind | null;
  replicas: number;
  gutter: unknown;
  warmUp: unknown;
  hedge: unknown;
  auth: unknown;
}

/**
 * Behind a proxy the proxy places keys: options that make the client place copies or move keys
 * between its servers would act on the same memcached through two doors (a replica alignment that
 * deletes the key it just wrote, say). twemproxy also refuses authentication (it closes the
 * connection on the auth `set`).
 */
export function checkBehindProxy(o: BehindProxy): void {
  if (o.proxy === null) return;
  const ruled: string[] = [];
  if (o.replicas > 1) ruled.push("replicas > 1");
  if (o.gutter !== null) ruled.push("gutter");
  if (o.warmUp !== null) ruled.push("warmUp");
  if (o.hedge !== null) ruled.push("hedge");
  if (o.auth !== null) ruled.push("auth (twemproxy does not forward it)");
  if (ruled.length > 0) {
    throw new InvalidArgumentError(
      `proxy "${o.proxy}" places keys itself: remove ${ruled.join(", ")} (see "Behind a proxy" in the README)`,
    );
  }
}

/** The `tls` option, checked and frozen; null for plain TCP. */
export function tlsOption(t: WireOptions["tls"]): TlsConnectionOptions | null {
  if (t === undefined || t === false) return null;
  if (t === true) return Object.freeze({});
  if (t === null || typeof t !== "object") {
    throw new InvalidArgumentError("tls must be true, false or tls.connect options");
  }
  return Object.freeze({ ...t });
}

/** The `auth` option, checked, as credentials that keep the password out of logs. */
export function credentials(a: AuthOptions): Credentials {
  if (
    a === null ||
    typeof a !== "object" ||
    typeof a.username !== "string" ||
    typeof a.password !== "string"
  ) {
    throw new InvalidArgumentError("auth must be { username: string, password: string }");
  }
  if (a.username === "" || /[\s\0]/.test(a.username)) {
    throw new InvalidArgumentError("auth.username must be non-empty, without spaces or NUL bytes");
  }
  if (/[\r\n\0]/.test(a.password))
    throw new InvalidArgumentError("auth.password must not contain CR, LF or NUL");
  return new Credentials(a.username, a.password);
}
