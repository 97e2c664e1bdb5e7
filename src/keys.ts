/**
 * Keys: validation, prefixing and the meta protocol's base64 (`b`) form.
 *
 * memcached limits a key *token as sent* to 250 bytes, with no control bytes and no spaces.
 * A key that is plain printable ASCII (0x21–0x7e) is sent as it is; any other key (spaces, control
 * bytes, UTF-8, arbitrary Buffer bytes) is sent base64-encoded with the `b` flag, transparently.
 * Base64 grows 3 bytes into 4 characters, padded, so such a key may be at most 186 raw bytes
 * (prefix included): ceil(186 / 3) * 4 = 248 ≤ 250, while 187 bytes encode to 252 characters, which
 * memcached 1.6.18 refuses (checked live: `CLIENT_ERROR bad command line format`).
 */
import { InvalidKeyError } from "./errors.js";

/** Keys are strings (UTF-8) or raw bytes. */
export type Key = string | Buffer;

/** memcached's limit on a key token. */
export const MAX_KEY_LENGTH = 250;
/** Longest raw key (prefix included) whose base64 form fits {@link MAX_KEY_LENGTH}. */
export const MAX_BASE64_KEY_BYTES = 186;

/**
 * Turns user keys into wire tokens. After each {@link KeyEncoder.encode} call, {@link KeyEncoder.base64}
 * tells whether the token is base64 (the request must then carry the `b` flag). One encoder per client;
 * it keeps no per-key state, so nothing is allocated for a plain ASCII string key without a prefix.
 *
 * For the binary protocol (`protocol: "binary"`) keys are length-prefixed on the wire, so any bytes go as
 * they are: a key that is not plain ASCII becomes a latin1 string of its raw bytes (one char per
 * byte), never base64, and may be up to {@link MAX_KEY_LENGTH} bytes. memcached stores a meta `b` key
 * under its decoded bytes, so both protocols address the same item for the same key.
 */
export class KeyEncoder {
  /** Whether the last token returned is base64 (send with `b`). */
  base64 = false;
  readonly #prefix: string;
  readonly #prefixBytes: Buffer;
  readonly #prefixPlain: boolean;
  readonly #protocol: "meta" | "binary" | "text";
  /** Longest key sent as it is, prefix excluded; -1 when the prefix itself needs base64. */
  readonly #plainRoom: number;

  constructor(prefix = "", protocol: "meta" | "binary" | "text" = "meta") {
    this.#protocol = protocol;
    const bytes = Buffer.from(prefix, "utf8");
    if (bytes.length >= MAX_KEY_LENGTH) {
      throw new InvalidKeyError(`keyPrefix is ${bytes.length} bytes; it must leave room for a key`);
    }
    this.#prefix = prefix;
    this.#prefixBytes = bytes;
    this.#prefixPlain = isPlain(prefix);
    this.#plainRoom = this.#prefixPlain ? MAX_KEY_LENGTH - prefix.length : -1;
  }

  /** The wire token for `key`; throws {@link InvalidKeyError} before anything is sent. */
  encode(key: Key): string {
    // The common case, a printable ASCII string, in a method small enough to inline.
    if (typeof key === "string" && key.length !== 0 && key.length <= this.#plainRoom && isPlain(key)) {
      this.base64 = false;
      return this.#prefix.length === 0 ? key : this.#prefix + key;
    }
    return this.#encodeOther(key);
  }

  #encodeOther(key: Key): string {
    if (typeof key === "string") return this.#encodeString(key);
    if (Buffer.isBuffer(key)) return this.#encodeBuffer(key);
    throw new InvalidKeyError(`a key must be a string or a Buffer, got ${describe(key)}`);
  }

  #encodeString(key: string): string {
    if (key.length === 0) throw new InvalidKeyError("the key is empty");
    // A plain key within the limit took encode's fast path: this one needs base64, or is refused.
    if (LONE_SURROGATE.test(key)) {
      throw new InvalidKeyError(
        "the key has a lone UTF-16 surrogate: it has no UTF-8 form (it would collide with other keys); " +
          "pass a well-formed string or a Buffer",
        { cause: preview(key) },
      );
    }
    const raw = Buffer.from(this.#prefix + key, "utf8");
    return this.#base64(raw, key);
  }

  #encodeBuffer(key: Buffer): string {
    const n = key.length;
    if (n === 0) throw new InvalidKeyError("the key is empty");
    let plain = n + this.#prefixBytes.length <= MAX_KEY_LENGTH && this.#prefixPlain;
    for (let i = 0; plain && i < n; i++) {
      const c = key[i]!;
      if (c <= 0x20 || c >= 0x7f) plain = false;
    }
    if (plain) {
      this.base64 = false;
      return this.#prefix + key.toString("latin1");
    }
    const raw = this.#prefixBytes.length === 0 ? key : Buffer.concat([this.#prefixBytes, key]);
    return this.#base64(raw, key);
  }

  #base64(raw: Buffer, key: Key): string {
    if (raw.length > MAX_KEY_LENGTH) {
      throw new InvalidKeyError(
        `key is ${raw.length} bytes (prefix included); the limit is ${MAX_KEY_LENGTH}`,
        {
          cause: preview(key),
        },
      );
    }
    if (this.#protocol === "binary") {
      this.base64 = false;
      return raw.toString("latin1");
    }
    if (this.#protocol === "text") {
      throw new InvalidKeyError(
        "the key has spaces, control bytes or non-ASCII characters, which the text protocol cannot " +
          "carry (it has no base64 form): use printable ASCII keys (hash or encode them), or protocol " +
          '"meta" or "binary"',
        { cause: preview(key) },
      );
    }
    if (raw.length > MAX_BASE64_KEY_BYTES) {
      throw new InvalidKeyError(
        `key is ${raw.length} bytes and not plain ASCII: its base64 form would pass memcached's ` +
          `${MAX_KEY_LENGTH}-byte limit (at most ${MAX_BASE64_KEY_BYTES} bytes for such keys)`,
        { cause: preview(key) },
      );
    }
    this.base64 = true;
    return raw.toString("base64");
  }
}

/** A high surrogate not followed by a low one, or a low one not after a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Printable ASCII (0x21–0x7e) only, or empty. */
const PLAIN = /^[\x21-\x7e]*$/;

/**
 * Whether every char is printable ASCII. A regular expression rather than a `charCodeAt` loop: it
 * scans the string's flat form natively, where a loop pays an indirection per char on the
 * concatenated strings keys usually are (`user:${id}`).
 */
function isPlain(s: string): boolean {
  return PLAIN.test(s);
}

function preview(key: Key): string {
  const s = typeof key === "string" ? key : key.toString("hex");
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function describe(v: unknown): string {
  return v === null ? "null" : typeof v;
}
