/**
 * Checks of what a caller passes where a command takes its options object. JavaScript callers
 * coming from other clients write `set(key, value, 60)` (memcached, memcache) or
 * `set(key, value, { expires: 60 })` (memjs); both would store with no expiry without a word, so
 * each is an `InvalidArgumentError` that says what to write instead. The check is a `typeof` and a
 * walk over the object's own names, only when options are given.
 */
import { InvalidArgumentError } from "../errors.js";
import type {
  ArithOptions,
  CallOptions,
  FetchOptions,
  FlushOptions,
  InvalidateOptions,
  SetOptions,
} from "../options.js";
import { nearestName } from "./option-names.js";

type Names<T> = { readonly [K in keyof Required<T>]: true };

/** What a command's options check needs to know to explain itself. */
export interface CallShape {
  /** The command as the caller wrote it. */
  readonly command: string;
  /** Which argument the options are ("second", "third"…). */
  readonly position: string;
  /** The call written correctly, shown when something else stands where the options go. */
  readonly example: string;
  readonly names: Readonly<Record<string, true>>;
}

const CALL: Names<CallOptions> = { timeout: true, signal: true, hashKey: true };
const SET: Names<SetOptions> = { ...CALL, ttl: true };
const ARITH: Names<ArithOptions> = { ...CALL, initial: true, ttl: true };
const FLUSH: Names<FlushOptions> = { ...CALL, delay: true };
const INVALIDATE: Names<InvalidateOptions> = { ...CALL, staleTtl: true };
const FETCH: Names<FetchOptions> = {
  ...CALL,
  ttl: true,
  lockTtl: true,
  recacheWithin: true,
  staleTtl: true,
  onLockTimeout: true,
};

function shape(command: string, position: string, example: string, names: CallShape["names"]): CallShape {
  return { command, position, example, names };
}

const WITH_TTL = (call: string) => `${call}, { ttl: 60 })`;

/** The shape of every public command that takes options, by command name. */
export const SHAPES = {
  get: shape("get", "second", "get(key, { timeout: 100 })", CALL),
  gets: shape("gets", "second", "gets(key, { timeout: 100 })", CALL),
  touch: shape("touch", "third", "touch(key, 60, { timeout: 100 })", CALL),
  getAndTouch: shape("getAndTouch", "third", "getAndTouch(key, 60, { timeout: 100 })", CALL),
  getMany: shape("getMany", "second", "getMany(keys, { timeout: 100 })", CALL),
  set: shape("set", "third", WITH_TTL("set(key, value"), SET),
  add: shape("add", "third", WITH_TTL("add(key, value"), SET),
  replace: shape("replace", "third", WITH_TTL("replace(key, value"), SET),
  append: shape("append", "third", "append(key, value, { timeout: 100 })", CALL),
  prepend: shape("prepend", "third", "prepend(key, value, { timeout: 100 })", CALL),
  cas: shape("cas", "fourth", WITH_TTL("cas(key, value, token"), SET),
  delete: shape("delete", "second", "delete(key, { timeout: 100 })", CALL),
  incr: shape("incr", "third", "incr(key, 1, { initial: 0, ttl: 60 })", ARITH),
  decr: shape("decr", "third", "decr(key, 1, { initial: 0, ttl: 60 })", ARITH),
  setMany: shape("setMany", "second", "setMany(entries, { ttl: 60 })", SET),
  deleteMany: shape("deleteMany", "second", "deleteMany(keys, { timeout: 100 })", CALL),
  fetch: shape("fetch", "third", "fetch(key, loader, { ttl: 60 })", FETCH),
  invalidate: shape("invalidate", "second", "invalidate(key, { staleTtl: 30 })", INVALIDATE),
  stats: shape("stats", "second", 'stats("slabs", { timeout: 100 })', CALL),
  version: shape("version", "first", "version({ timeout: 100 })", CALL),
  flush: shape("flush", "first", "flush({ delay: 10 })", FLUSH),
  ping: shape("ping", "first", "ping({ timeout: 100 })", CALL),
} as const satisfies Record<string, CallShape>;

/**
 * Names other clients use for what memcachio calls otherwise, so a caller is pointed to the right one
 * even where the spelling is far from it.
 */
const OTHER_CLIENTS_NAMES: Readonly<Record<string, string>> = {
  expires: "ttl",
  expire: "ttl",
  expiry: "ttl",
  expiration: "ttl",
  exptime: "ttl",
  lifetime: "ttl",
  maxAge: "ttl",
  timeoutMs: "timeout",
  deadline: "timeout",
  abortSignal: "signal",
  initialValue: "initial",
  default: "initial",
};

/**
 * True when `options` (not `undefined`) is an options object whose every name `shape` knows; the
 * hot path of a call with options is this check and nothing more.
 */
export function optionsAreValid(options: object, s: CallShape): boolean {
  if (typeof options !== "object" || options === null) return false;
  for (const name in options) if (s.names[name] !== true) return false;
  return true;
}

/** The error of options that {@link optionsAreValid} refused, saying what to write instead. */
export function invalidOptions(options: unknown, s: CallShape): InvalidArgumentError {
  const what = `${s.command}: its ${s.position} argument is an options object`;
  if (typeof options === "function") {
    return new InvalidArgumentError(
      `${what}, got a function. memcachio takes no callbacks: await the promise ${s.command} returns, or use .then()`,
    );
  }
  if (typeof options !== "object" || options === null) {
    if (options === null)
      return new InvalidArgumentError(`${what}, got null: leave it out, or write ${s.example}`);
    const ttlHint =
      "ttl" in s.names && typeof options === "number" ? " (a TTL is seconds, given as { ttl })" : "";
    return new InvalidArgumentError(
      `${what}, got the ${typeof options} ${String(options)}. Write ${s.example}${ttlHint}`,
    );
  }
  const known = Object.keys(s.names);
  for (const name in options) {
    if (s.names[name] === true) continue;
    const near = OTHER_CLIENTS_NAMES[name] ?? nearestName(name, known);
    const hint = near !== undefined && s.names[near] === true ? ` Did you mean "${near}"?` : "";
    return new InvalidArgumentError(
      `${s.command}: unknown option "${name}".${hint} The options of ${s.command} are ${known.join(", ")}`,
    );
  }
  return new InvalidArgumentError(`${what}`);
}

/** A call refused for its options, as a rejected promise (commands never throw synchronously). */
export function refuse(options: unknown, s: CallShape): Promise<never> {
  return Promise.reject(invalidOptions(options, s));
}
