/**
 * `captureCallSite`: errors that name the caller's line. A call's failure is found on a socket's
 * event, long after the caller's frames are gone, so its stack has no frames (`util/no-stack.ts`).
 * With the option on, each command records where it was called (the frames below the client's method) and
 * a memcachio error it rejects with carries them at the end of its stack. Off by default: recording
 * a stack is the dearest part of a call that has it (`npm run bench:calls` measures it).
 */
import { MemcachedError } from "../errors.js";

/** The commands whose errors get the caller's frames: every method of the client that returns a promise. */
export const RECORDED_COMMANDS = [
  "get",
  "gets",
  "touch",
  "getAndTouch",
  "getMany",
  "set",
  "add",
  "replace",
  "append",
  "prepend",
  "cas",
  "delete",
  "incr",
  "decr",
  "setMany",
  "deleteMany",
  "fetch",
  "invalidate",
  "stats",
  "version",
  "flush",
  "ping",
  "setServers",
  "addServer",
  "removeServer",
] as const;

const SITE_HEADER = "\n    at the call (captureCallSite):";

type Method = (...args: unknown[]) => Promise<unknown>;

/**
 * Gives `client` own versions of its commands that record the call site. The client's prototype is
 * untouched, so clients without the option pay nothing.
 */
export function recordCallSites(client: object): void {
  const proto = Object.getPrototypeOf(client) as Record<string, Method>;
  for (const name of RECORDED_COMMANDS) {
    const method = proto[name]!;
    const recorded = function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const site: { stack?: string } = {};
      // Frames above `recorded` (the library's) are left out: what remains is the caller's.
      Error.captureStackTrace(site, recorded);
      return method.apply(this, args).catch((err: unknown) => {
        throw withCallSite(err, site.stack);
      });
    };
    Object.defineProperty(recorded, "name", { value: name });
    Object.defineProperty(client, name, { value: recorded, writable: true, configurable: true });
  }
}

/**
 * `err` with the caller's frames at the end of its stack. One error may fail several calls at once
 * (every call queued on a connection that broke), so each caller gets its own copy: same class,
 * message, code, server and cause.
 */
export function withCallSite(err: unknown, siteStack: string | undefined): unknown {
  if (!(err instanceof MemcachedError) || siteStack === undefined) return err;
  const Class = err.constructor as new (message: string, options: object) => MemcachedError;
  const copy = new Class(err.message, { server: err.server, cause: err.cause });
  Object.assign(copy, err);
  const frames = siteStack.slice(siteStack.indexOf("\n"));
  copy.stack = `${err.stack ?? `${err.name}: ${err.message}`}${SITE_HEADER}${frames}`;
  return copy;
}
