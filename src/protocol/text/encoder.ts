/**
 * Encodes requests as classic text-protocol commands into a {@link Writer}. Pure: no socket, no timer.
 *
 * The text protocol has no opaque: replies come back in request order, and the reply handlers check
 * each `VALUE`'s key against the key asked. `noreply` is never sent: a request it would silence still
 * answers with an error when it is malformed, and the stream would lose its pairing. So the quiet
 * batches of meta and binary become plain pipelined commands here, one reply each:
 *
 *   get / gets / gat / gats   get <key>…            VALUE <key> <flags> <bytes> [<cas>] + data … END
 *   getMany                   get <k1> <k2> …        (one line per server share)
 *   set … cas                 <cmd> <key> <flags> <exptime> <bytes> [<cas>] + data
 *   setMany / deleteMany      one set / delete per key
 *   delete, touch, incr/decr  delete <key>, touch <key> <exptime>, incr|decr <key> <delta>
 *   no-op                     version (the protocol has none; twemproxy forwards `version` too)
 *
 * incr/decr carry no initial value and no TTL here: the client layer emulates them (`counters.ts`).
 */
import { ProtocolError } from "../../errors.js";
import { type Frame, MODE_ADD, MODE_APPEND, MODE_DECR, MODE_PREPEND, MODE_REPLACE, Op } from "../frame.js";
import { encodeClassic, writeVersion } from "../classic.js";
import type { Writer } from "../writer.js";

/** Room for one command line (key ≤ 250 bytes plus every field at its longest). */
const LINE = 512;

/** Writes `req`. Returns 1: the text protocol uses no opaque, the count only keeps the pipeline's. */
export function encodeText(w: Writer, req: Frame): number {
  switch (req.op) {
    case Op.Get:
    case Op.WarmRead:
      keyLine(w, "get ", req.key);
      return 1;
    case Op.Gets:
      keyLine(w, "gets ", req.key);
      return 1;
    case Op.GetAndTouch:
      w.ensure(LINE);
      w.ascii("gat ");
      w.uint(Math.max(req.ttl, 0));
      w.byte(32);
      w.ascii(req.key);
      w.crlf();
      return 1;
    case Op.Touch:
      w.ensure(LINE);
      w.ascii("touch ");
      w.ascii(req.key);
      w.byte(32);
      w.uint(Math.max(req.ttl, 0));
      w.crlf();
      return 1;
    case Op.Store:
      store(w, storeCommand(req), req.key, req.value!, req.valueLength, req.clientFlags, req);
      return 1;
    case Op.Delete:
      keyLine(w, "delete ", req.key);
      return 1;
    case Op.Arith:
      w.ensure(LINE);
      w.ascii(req.mode === MODE_DECR ? "decr " : "incr ");
      w.ascii(req.key);
      w.byte(32);
      w.ascii(req.delta.toString());
      w.crlf();
      return 1;
    case Op.GetMany:
      getMany(w, req);
      return 1;
    case Op.StoreMany: {
      const batch = req.batch!;
      const values = batch.values!;
      const lengths = batch.valueLengths!;
      const flags = batch.valueFlags!;
      for (let i = 0; i < batch.keys.length; i++) {
        store(w, "set ", batch.keys[i]!, values[i]!, lengths[i]!, flags[i]!, req);
      }
      return 1;
    }
    case Op.DeleteMany:
      for (const key of req.batch!.keys) keyLine(w, "delete ", key);
      return 1;
    case Op.Stats:
    case Op.Version:
    case Op.Flush:
    case Op.Auth:
      encodeClassic(w, req);
      return 1;
    case Op.Noop:
      writeVersion(w);
      return 1;
    case Op.Fetch:
    case Op.Invalidate:
      throw new ProtocolError("fetch and invalidate exist only in the meta protocol");
    case Op.AuthMechs:
      throw new ProtocolError("SASL exists only in the binary protocol");
  }
}

/** `<command><key>\r\n` (the command includes its trailing space). */
function keyLine(w: Writer, command: string, key: string): void {
  w.ensure(LINE);
  w.ascii(command);
  w.ascii(key);
  w.crlf();
}

const STORE_COMMANDS: Record<number, string> = {
  0: "set ",
  [MODE_ADD]: "add ",
  [MODE_REPLACE]: "replace ",
  [MODE_APPEND]: "append ",
  [MODE_PREPEND]: "prepend ",
};

function storeCommand(req: Frame): string {
  if (req.cas !== null) return "cas ";
  const command = STORE_COMMANDS[req.mode];
  if (command === undefined) throw new ProtocolError(`unknown store mode ${req.mode}`);
  return command;
}

/** `<cmd> <key> <flags> <exptime> <bytes>[ <cas>]\r\n<data>\r\n` */
function store(
  w: Writer,
  command: string,
  key: string,
  value: string | Buffer,
  length: number,
  clientFlags: number,
  req: Frame,
): void {
  w.ensure(LINE);
  w.ascii(command);
  w.ascii(key);
  w.byte(32);
  w.uint(clientFlags);
  w.byte(32);
  w.uint(Math.max(req.ttl, 0));
  w.byte(32);
  w.uint(length);
  if (req.cas !== null) {
    w.byte(32);
    w.ascii(req.cas.toString());
  }
  w.crlf();
  w.value(value, length);
  w.ensure(2);
  w.crlf();
}

/** `get <k1> <k2> …\r\n`: one line, answered by the hits in order and one `END`. */
function getMany(w: Writer, req: Frame): void {
  const keys = req.batch!.keys;
  w.ensure(8);
  w.ascii("get");
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    w.ensure(key.length + 3);
    w.byte(32);
    w.ascii(key);
  }
  w.crlf();
}
