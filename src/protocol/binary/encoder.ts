/**
 * Encodes requests as binary-protocol packets into a {@link Writer}. Pure: no socket, no timer.
 *
 * Every packet carries an opaque (a per-connection counter) that the server echoes; the reply
 * handlers check it. Keys are sent as raw bytes (the key encoder hands binary keys over as latin1
 * strings, one char per byte), so keys that meta would base64 need nothing special here.
 *
 * Commands (see the Op list in `frame.ts`):
 *   get Get · gets Get (CAS in the reply header) · getAndTouch GAT · touch Touch
 *   set/add/replace Set/Add/Replace (extras: flags, expiration; CAS in the header for cas)
 *   append/prepend Append/Prepend (no extras) · delete Delete
 *   incr/decr Increment/Decrement (extras: delta u64, initial u64, expiration; 0xffffffff = do not create)
 *   getMany GetKQ per key + Noop · setMany SetQ per key + Noop · deleteMany DeleteQ per key + Noop
 *   stats Stat [group] · version Version · flush Flush [delay] · Noop
 *   auth SASL list mechs / SASL auth (PLAIN)
 */
import { ProtocolError } from "../../errors.js";
import { type Frame, MODE_ADD, MODE_APPEND, MODE_DECR, MODE_PREPEND, MODE_REPLACE, Op } from "../frame.js";
import type { Writer } from "../writer.js";
import {
  ADD,
  APPEND,
  DECREMENT,
  DELETE,
  DELETEQ,
  FLUSH,
  GAT,
  GET,
  GETKQ,
  HEADER,
  INCREMENT,
  NO_CREATE,
  NOOP,
  PREPEND,
  REPLACE,
  REQUEST,
  SASL_AUTH,
  SASL_LIST_MECHS,
  SET,
  SETQ,
  STAT,
  TOUCH,
  VERSION,
} from "./codes.js";

/** Room for a header, the longest extras and the longest key. */
const ROOM = HEADER + 20 + 256;

/**
 * Writes `req` and returns how many opaques it used (1, or one per key for batches plus one for the
 * closing Noop). `opaque` is the first opaque to use.
 */
export function encodeBinary(w: Writer, req: Frame, opaque: number): number {
  switch (req.op) {
    case Op.Get:
    case Op.Gets:
    case Op.WarmRead:
      keyOnly(w, GET, req.key, opaque);
      return 1;
    case Op.GetAndTouch:
    case Op.Touch: {
      w.ensure(ROOM);
      const key = req.key;
      header(w, req.op === Op.Touch ? TOUCH : GAT, key.length, 4, 4 + key.length, opaque, null);
      u32(w, Math.max(req.ttl, 0));
      w.ascii(key);
      return 1;
    }
    case Op.Store:
      store(w, storeOpcode(req.mode), req.key, req.value!, req.valueLength, req.clientFlags, req, opaque);
      return 1;
    case Op.Delete:
      keyOnly(w, DELETE, req.key, opaque);
      return 1;
    case Op.Arith:
      arith(w, req, opaque);
      return 1;
    case Op.GetMany: {
      const keys = req.batch!.keys;
      for (let i = 0; i < keys.length; i++) keyOnly(w, GETKQ, keys[i]!, opaque + i);
      return noop(w, opaque + keys.length) + keys.length;
    }
    case Op.StoreMany: {
      const b = req.batch!;
      const keys = b.keys;
      for (let i = 0; i < keys.length; i++) {
        store(w, SETQ, keys[i]!, b.values![i]!, b.valueLengths![i]!, b.valueFlags![i]!, req, opaque + i);
      }
      return noop(w, opaque + keys.length) + keys.length;
    }
    case Op.DeleteMany: {
      const keys = req.batch!.keys;
      for (let i = 0; i < keys.length; i++) keyOnly(w, DELETEQ, keys[i]!, opaque + i);
      return noop(w, opaque + keys.length) + keys.length;
    }
    case Op.Stats:
      keyOnly(w, STAT, req.arg, opaque);
      return 1;
    case Op.Version:
      keyOnly(w, VERSION, "", opaque);
      return 1;
    case Op.Flush:
      w.ensure(ROOM);
      if (req.arg === "") header(w, FLUSH, 0, 0, 0, opaque, null);
      else {
        header(w, FLUSH, 0, 4, 4, opaque, null);
        u32(w, Number(req.arg));
      }
      return 1;
    case Op.Noop:
      return noop(w, opaque);
    case Op.AuthMechs:
      keyOnly(w, SASL_LIST_MECHS, "", opaque);
      return 1;
    case Op.Auth: {
      // SASL auth: key = mechanism, value = the mechanism's payload (PLAIN: \0user\0password).
      const payload = req.value as Buffer;
      w.ensure(ROOM);
      header(w, SASL_AUTH, req.key.length, 0, req.key.length + payload.length, opaque, null);
      w.ascii(req.key);
      w.value(payload, payload.length);
      return 1;
    }
    case Op.Fetch:
    case Op.Invalidate:
      throw new ProtocolError(`${Op[req.op]} exists only in the meta protocol`);
  }
}

/** The 24-byte request header. `cas` null = 0. Caller has ensured room. */
function header(
  w: Writer,
  opcode: number,
  keyLength: number,
  extrasLength: number,
  bodyLength: number,
  opaque: number,
  cas: bigint | null,
): void {
  const b = w.buf;
  const p = w.pos;
  b[p] = REQUEST;
  b[p + 1] = opcode;
  b[p + 2] = keyLength >>> 8;
  b[p + 3] = keyLength & 0xff;
  b[p + 4] = extrasLength;
  b[p + 5] = 0; // data type
  b[p + 6] = 0; // vbucket
  b[p + 7] = 0;
  b.writeUInt32BE(bodyLength, p + 8);
  b.writeUInt32BE(opaque >>> 0, p + 12);
  if (cas === null || cas === 0n) {
    b.writeUInt32BE(0, p + 16);
    b.writeUInt32BE(0, p + 20);
  } else b.writeBigUInt64BE(cas, p + 16);
  w.pos = p + HEADER;
}

function u32(w: Writer, v: number): void {
  w.buf.writeUInt32BE(v >>> 0, w.pos);
  w.pos += 4;
}

function u64(w: Writer, v: bigint): void {
  w.buf.writeBigUInt64BE(v, w.pos);
  w.pos += 8;
}

/** A packet with a key and nothing else (Get, Delete, GetKQ, DeleteQ, Stat, Version…). */
function keyOnly(w: Writer, opcode: number, key: string, opaque: number): void {
  w.ensure(ROOM);
  header(w, opcode, key.length, 0, key.length, opaque, null);
  w.ascii(key);
}

function noop(w: Writer, opaque: number): number {
  w.ensure(HEADER);
  header(w, NOOP, 0, 0, 0, opaque, null);
  return 1;
}

function storeOpcode(mode: number): number {
  switch (mode) {
    case MODE_ADD:
      return ADD;
    case MODE_REPLACE:
      return REPLACE;
    case MODE_APPEND:
      return APPEND;
    case MODE_PREPEND:
      return PREPEND;
    default:
      return SET;
  }
}

/** Set/Add/Replace (extras: flags, expiration), Append/Prepend (no extras), SetQ. CAS in the header. */
function store(
  w: Writer,
  opcode: number,
  key: string,
  value: string | Buffer,
  length: number,
  clientFlags: number,
  req: Frame,
  opaque: number,
): void {
  w.ensure(ROOM);
  const extras = opcode === APPEND || opcode === PREPEND ? 0 : 8;
  header(w, opcode, key.length, extras, extras + key.length + length, opaque, req.cas);
  if (extras !== 0) {
    u32(w, clientFlags);
    u32(w, Math.max(req.ttl, 0));
  }
  w.ascii(key);
  if (length > 0) w.value(value, length);
}

/** Increment/Decrement: extras delta, initial, expiration (NO_CREATE when there is no initial value). */
function arith(w: Writer, req: Frame, opaque: number): void {
  w.ensure(ROOM);
  const key = req.key;
  header(w, req.mode === MODE_DECR ? DECREMENT : INCREMENT, key.length, 20, 20 + key.length, opaque, null);
  u64(w, req.delta);
  u64(w, req.initial ?? 0n);
  u32(w, req.initial === null ? NO_CREATE : Math.max(req.ttl, 0));
  w.ascii(key);
}
