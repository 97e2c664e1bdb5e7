/**
 * Encodes requests as meta-protocol commands into a {@link Writer}. Pure: no socket, no timer.
 *
 * Every command carries an opaque `O<n>` (a per-connection counter, written as the four-letter token
 * of `opaque-token.ts`) that the server echoes; the reply handlers check it, so a reply can never be
 * paired with the wrong request.
 *
 * Flags written (memcached ≥ 1.6; see the Op list in `frame.ts`):
 *   mg  v = return value, f = client flags, c = CAS, q = quiet (batches: drops EN),
 *       T<ttl> = touch, b = key is base64, O<n> = opaque
 *   ms  <datalen> (positional), F<flags>, T<ttl>, M<mode> (E add, A append, P prepend, R replace,
 *       S set = default), C<cas> = compare-and-swap, q = quiet (drops HD), b, O<n>
 *   md  q, b, O<n>; I = invalidate (mark stale), T<ttl> = stale TTL
 *   mg  (fetch) N<ttl> = on a miss create a stub and win, R<ttl> = win a recache under this TTL;
 *       replies carry W (won), X (stale), Z (another client already won)
 *   ma  D<delta>, MD = decrement, N<ttl> + J<initial> = create when missing, T<ttl> = update TTL,
 *       v = return the new value, b, O<n>
 *   mn  ends a quiet batch: the server answers MN once everything before it is answered.
 */
import { ProtocolError } from "../../errors.js";
import { type Frame, Op } from "../frame.js";
import { encodeClassic } from "../classic.js";
import type { Writer } from "../writer.js";
import { writeOpaqueToken } from "./opaque-token.js";

/** Room for one command line (key ≤ 250 bytes plus every flag at its longest). */
const LINE = 512;

/**
 * Writes `req` and returns how many opaques it used (1, or one per key for batches; the closing `mn`
 * carries none). `opaque` is the first opaque to use.
 */
export function encodeMeta(w: Writer, req: Frame, opaque: number): number {
  switch (req.op) {
    case Op.Get:
      get(w, req.key, req.base64, opaque);
      return 1;
    case Op.Gets:
      mgHead(w, req.key, req.base64);
      w.ascii(" v f c O");
      return end(w, opaque);
    case Op.GetAndTouch:
      mgHead(w, req.key, req.base64);
      w.ascii(" v f T");
      w.uint(req.ttl);
      w.ascii(" O");
      return end(w, opaque);
    case Op.Touch:
      mgHead(w, req.key, req.base64);
      w.ascii(" T");
      w.uint(req.ttl);
      w.ascii(" O");
      return end(w, opaque);
    case Op.Store:
      store(w, req.key, req.base64, req.value!, req.valueLength, req.clientFlags, req, false, opaque);
      return 1;
    case Op.Delete:
      mdHead(w, req.key, req.base64);
      w.ascii(" O");
      return end(w, opaque);
    case Op.Arith:
      arith(w, req, opaque);
      return 1;
    case Op.GetMany:
      return getMany(w, req, opaque);
    case Op.StoreMany:
      return storeMany(w, req, opaque);
    case Op.DeleteMany:
      return deleteMany(w, req, opaque);
    case Op.Stats:
    case Op.Version:
    case Op.Flush:
    case Op.Auth:
      encodeClassic(w, req);
      return 0;
    case Op.Fetch:
      // v f c t: value, flags, CAS (for the write-back) and TTL; N: create a stub and win on a miss;
      // R: win a recache when the remaining TTL is below the token.
      mgHead(w, req.key, req.base64);
      w.ascii(" v f c t N");
      w.uint(req.ttl);
      if (req.recache >= 0) {
        w.ascii(" R");
        w.uint(req.recache);
      }
      w.ascii(" O");
      return end(w, opaque);
    case Op.WarmRead:
      // t: the remaining TTL, which the copy to the key's new owner keeps.
      mgHead(w, req.key, req.base64);
      w.ascii(" v f t O");
      return end(w, opaque);
    case Op.Invalidate:
      // I: mark stale instead of deleting; T: how long the stale item stays (absent: TTL unchanged).
      mdHead(w, req.key, req.base64);
      w.ascii(" I");
      if (req.ttl >= 0) {
        w.ascii(" T");
        w.uint(req.ttl);
      }
      w.ascii(" O");
      return end(w, opaque);
    case Op.Noop:
      w.ensure(8);
      w.ascii("mn");
      w.crlf();
      return 0;
    case Op.AuthMechs:
      throw new ProtocolError("SASL exists only in the binary protocol");
  }
}

/** `m<c> <key>[ b]`, written straight into the slab (room for a whole line is ensured here). */
function head(w: Writer, c: number, key: string, base64: boolean): void {
  w.ensure(LINE);
  const b = w.buf;
  b[w.pos] = 0x6d; // m
  b[w.pos + 1] = c;
  b[w.pos + 2] = 0x20;
  w.pos += 3;
  w.ascii(key);
  let p = w.pos;
  if (base64) {
    b[p++] = 0x20;
    b[p++] = 0x62; // b
  }
  w.pos = p;
}

/** `mg <key> [b] v f [q] O<n>\r\n`: a get, or (quiet) one key of a getMany — the hottest lines. */
function get(w: Writer, key: string, base64: boolean, opaque: number, quiet = false): void {
  head(w, 0x67, key, base64);
  const b = w.buf;
  let p = w.pos;
  b[p++] = 0x20;
  b[p++] = 0x76; // v
  b[p++] = 0x20;
  b[p++] = 0x66; // f
  if (quiet) {
    b[p++] = 0x20;
    b[p++] = 0x71; // q
  }
  b[p++] = 0x20;
  b[p++] = 0x4f; // O
  w.pos = p;
  token(w, opaque);
  w.crlf();
}

function mgHead(w: Writer, key: string, base64: boolean): void {
  head(w, 0x67, key, base64);
}

function mdHead(w: Writer, key: string, base64: boolean): void {
  head(w, 0x64, key, base64);
}

/** `mn`: ends a quiet batch; the server answers `MN` after everything before it. */
function endBatch(w: Writer, count: number): number {
  w.ensure(4);
  w.ascii("mn");
  w.crlf();
  return count;
}

function end(w: Writer, opaque: number): number {
  token(w, opaque);
  w.crlf();
  return 1;
}

/** `ms <key> <len> [b] [F] [T] [M] [C] [q] O<n>\r\n<data>\r\n` */
function store(
  w: Writer,
  key: string,
  base64: boolean,
  value: string | Buffer,
  length: number,
  clientFlags: number,
  req: Frame,
  quiet: boolean,
  opaque: number,
): void {
  head(w, 0x73, key, false); // `b` goes after the positional length
  w.byte(32);
  w.uint(length);
  if (base64) w.ascii(" b");
  if (clientFlags !== 0) {
    w.ascii(" F");
    w.uint(clientFlags);
  }
  if (req.ttl > 0) {
    w.ascii(" T");
    w.uint(req.ttl);
  }
  if (req.mode !== 0) {
    w.ascii(" M");
    w.byte(req.mode);
  }
  if (req.cas !== null) {
    w.ascii(" C");
    w.ascii(req.cas.toString());
  }
  const b = w.buf;
  let p = w.pos;
  b[p++] = 0x20;
  if (quiet) {
    b[p++] = 0x71; // q
    b[p++] = 0x20;
  }
  b[p++] = 0x4f; // O
  w.pos = p;
  token(w, opaque);
  w.crlf();
  w.value(value, length);
  w.ensure(2);
  w.crlf();
}

/** `ma <key> [b] [MD] [D<delta>] [N<ttl> J<initial>] [T<ttl>] v O<n>` */
function arith(w: Writer, req: Frame, opaque: number): void {
  head(w, 0x61, req.key, req.base64);
  if (req.mode !== 0) {
    w.ascii(" M");
    w.byte(req.mode);
  }
  if (req.delta !== 1n) {
    w.ascii(" D");
    w.ascii(req.delta.toString());
  }
  const ttl = Math.max(req.ttl, 0);
  if (req.initial !== null) {
    w.ascii(" N");
    w.uint(ttl);
    w.ascii(" J");
    w.ascii(req.initial.toString());
  }
  if (req.ttl > 0) {
    w.ascii(" T");
    w.uint(ttl);
  }
  w.ascii(" v O");
  token(w, opaque);
  w.crlf();
}

/**
 * `mg <key> [b] v f q O<n>` per key, then `mn`. Opaques `opaque … opaque + n - 1`: a hit is paired
 * with its key by its opaque alone, so no `k` (the server would echo every key, and the client compare it).
 */
function getMany(w: Writer, req: Frame, opaque: number): number {
  const keys = req.batch!.keys;
  const b64 = req.batch!.keysBase64;
  for (let i = 0; i < keys.length; i++) get(w, keys[i]!, b64 !== null && b64[i] === true, opaque + i, true);
  return endBatch(w, keys.length);
}

function storeMany(w: Writer, req: Frame, opaque: number): number {
  const batch = req.batch!;
  const keys = batch.keys;
  const b64 = batch.keysBase64;
  const values = batch.values!;
  const lengths = batch.valueLengths!;
  const flags = batch.valueFlags!;
  for (let i = 0; i < keys.length; i++) {
    store(
      w,
      keys[i]!,
      b64 !== null && b64[i] === true,
      values[i]!,
      lengths[i]!,
      flags[i]!,
      req,
      true,
      opaque + i,
    );
  }
  return endBatch(w, keys.length);
}

function deleteMany(w: Writer, req: Frame, opaque: number): number {
  const keys = req.batch!.keys;
  const b64 = req.batch!.keysBase64;
  for (let i = 0; i < keys.length; i++) {
    mdHead(w, keys[i]!, b64 !== null && b64[i] === true);
    w.ascii(" q O");
    token(w, opaque + i);
    w.crlf();
  }
  return endBatch(w, keys.length);
}

/** The opaque's token (see `opaque-token.ts`). Caller has ensured room. */
function token(w: Writer, opaque: number): void {
  writeOpaqueToken(w.buf, w.pos, opaque);
  w.pos += 4;
}
