/**
 * Credentials held for authenticating new connections. The password lives in a private field: it
 * is not an own enumerable property, so it never shows in `JSON.stringify`, `util.inspect`, error
 * objects or diagnostics payloads; only the auth payload built for the wire contains it.
 */
import { inspect } from "node:util";

export class Credentials {
  readonly username: string;
  readonly #password: string;

  constructor(username: string, password: string) {
    this.username = username;
    this.#password = password;
  }

  /** SASL PLAIN message: `\0username\0password` (no authorization identity). */
  saslPlain(): Buffer {
    return Buffer.from(`\0${this.username}\0${this.#password}`, "utf8");
  }

  /** memcached ASCII auth (`-Y`): the data block of the `set` that authenticates, `username password`. */
  ascii(): Buffer {
    return Buffer.from(`${this.username} ${this.#password}`, "utf8");
  }

  toJSON(): { username: string; password: string } {
    return { username: this.username, password: "[redacted]" };
  }

  [inspect.custom](): string {
    return `Credentials { username: ${JSON.stringify(this.username)}, password: [redacted] }`;
  }
}
