/**
 * The classic commands the meta and text encoders both send as they are: `stats [group]`, `version`,
 * `flush_all [delay]`, and memcached's ASCII authentication (`-Y`): a `set` whose data is
 * `username password`, sent with TTL -1 so that a server without `-Y` stores nothing readable (the
 * item is born expired). Pure: no socket, no timer.
 */
import { type Frame, Op } from "./frame.js";
import type { Writer } from "./writer.js";

/** Room for a classic command line (a stats group or the auth key is short). */
const LINE = 512;

/** Writes `req` when it is one of the classic commands above; false (nothing written) otherwise. */
export function encodeClassic(w: Writer, req: Frame): boolean {
  switch (req.op) {
    case Op.Stats:
      w.ensure(LINE);
      w.ascii(req.arg === "" ? "stats" : `stats ${req.arg}`);
      w.crlf();
      return true;
    case Op.Version:
      writeVersion(w);
      return true;
    case Op.Flush:
      w.ensure(32);
      w.ascii(req.arg === "" ? "flush_all" : `flush_all ${req.arg}`);
      w.crlf();
      return true;
    case Op.Auth: {
      const payload = req.value as Buffer;
      w.ensure(LINE);
      w.ascii("set ");
      w.ascii(req.key);
      w.ascii(" 0 -1 ");
      w.uint(payload.length);
      w.crlf();
      w.value(payload, payload.length);
      w.ensure(2);
      w.crlf();
      return true;
    }
    default:
      return false;
  }
}

/** `version\r\n` (also the text protocol's no-op). */
export function writeVersion(w: Writer): void {
  w.ensure(16);
  w.ascii("version");
  w.crlf();
}
