/**
 * Incremental parser of binary-protocol responses. Bytes in, {@link BinaryReply} callbacks out; no
 * socket, no timer.
 *
 * A packet is a 24-byte header and `total body` bytes (extras, key, value). The callback gets one
 * reused {@link BinaryReply} whose offsets point into the current buffer; it must copy what it keeps
 * before returning.
 *
 * Buffering is `chunk-buffer.ts`'s: a partial header is joined to the next chunk, and a body that ends
 * in a later chunk is assembled once in a buffer of exactly its size (bounded by `maxValueSize`).
 */
import { ProtocolError } from "../../errors.js";
import { ChunkParser } from "../chunk-buffer.js";
import * as K from "../reply.js";
import { bytesAre, type ReplyView } from "../reply.js";
import {
  AUTH_ERROR,
  BUSY,
  DECREMENT,
  GAT,
  GET,
  GETKQ,
  HEADER,
  INCREMENT,
  INTERNAL_ERROR,
  INVALID_ARGUMENTS,
  KEY_EXISTS,
  KEY_NOT_FOUND,
  NON_NUMERIC,
  NOOP,
  NOT_STORED,
  NOT_SUPPORTED,
  OK,
  OUT_OF_MEMORY,
  opcodeName,
  RESPONSE,
  STAT,
  statusName,
  TEMPORARY_FAILURE,
  UNKNOWN_COMMAND,
  VALUE_TOO_LARGE,
  VERSION,
} from "./codes.js";

const EMPTY = Buffer.alloc(0);
/** Room for key, extras and memcached's longest non-value bodies (error texts, stats, version). */
const BODY_SLACK = 64 * 1024;

/** One parsed response. Reused: valid only during the parser's callback. */
export class BinaryReply implements ReplyView {
  /** The body length is in the header: an error reply never misaligns the stream. */
  readonly storeErrorBreaksStream = false;
  /** No meta flags in binary. */
  readonly upper = 0;
  opcode = 0;
  status = 0;
  opaque = 0;
  /** CAS, as two unsigned 32-bit halves (read as a bigint on demand). */
  casHi = 0;
  casLo = 0;
  /** Buffer holding the packet's body. */
  buf: Buffer = EMPTY;
  extrasStart = 0;
  extrasLength = 0;
  keyStart = 0;
  keyEnd = 0;
  /** The value: `value[valueStart, valueEnd)` (the same buffer as `buf`). */
  value: Buffer = EMPTY;
  valueStart = 0;
  valueEnd = 0;
  /** The value's buffer is this reply's alone (see `ReplyView`). */
  ownsValue = false;
  /** Client flags from the extras of a Get-family response; 0 otherwise. */
  clientFlags = 0;
  /** Binary replies do not tell the remaining TTL. */
  readonly ttlLeft = -2;

  /** The CAS as a bigint. */
  cas(): bigint {
    return (BigInt(this.casHi) << 32n) | BigInt(this.casLo);
  }

  /** The value as text (version string, stat value, error message). */
  text(): string {
    return this.value.toString("latin1", this.valueStart, this.valueEnd);
  }

  /** The key as text (stat name). */
  keyText(): string {
    return this.buf.toString("latin1", this.keyStart, this.keyEnd);
  }

  /** Whether the key equals `token` (a key as sent: one char per byte). */
  keyIs(token: string): boolean {
    return bytesAre(this.buf, this.keyStart, this.keyEnd, token);
  }

  /** A GetKQ hit always names its key (an empty one is then a wrong key, not none). */
  hasKey(): boolean {
    return true;
  }

  /** The value as an unsigned 64-bit integer (Increment/Decrement); throws when it is not 8 bytes. */
  u64(): bigint {
    if (this.valueEnd - this.valueStart !== 8) {
      throw new ProtocolError(
        `${opcodeName(this.opcode)}: counter body is ${this.valueEnd - this.valueStart} bytes, not 8`,
      );
    }
    return this.value.readBigUInt64BE(this.valueStart);
  }

  /** The protocol-neutral kind (see `reply.ts`). */
  get kind(): number {
    switch (this.status) {
      case OK:
        switch (this.opcode) {
          case GET:
          case GETKQ:
          case GAT:
          case INCREMENT:
          case DECREMENT:
            return K.VALUE;
          case NOOP:
            return K.BATCH_END;
          case STAT:
            return this.keyEnd === this.keyStart ? K.END : K.STAT;
          case VERSION:
            return K.VERSION;
          default:
            return K.DONE;
        }
      case KEY_NOT_FOUND:
        return K.NOT_FOUND;
      case NOT_STORED:
        return K.NOT_STORED;
      case KEY_EXISTS:
        return K.EXISTS;
      case INVALID_ARGUMENTS:
      case NON_NUMERIC:
      case UNKNOWN_COMMAND:
      case NOT_SUPPORTED:
        return K.CLIENT_ERROR;
      case VALUE_TOO_LARGE:
      case OUT_OF_MEMORY:
      case INTERNAL_ERROR:
      case BUSY:
      case TEMPORARY_FAILURE:
        return K.SERVER_ERROR;
      case AUTH_ERROR:
        return K.AUTH_ERROR;
      default:
        return K.UNEXPECTED;
    }
  }

  answers(opaque: number): boolean {
    return this.opaque === opaque;
  }

  /** The closing Noop's opaque is the one after the batch's keys. */
  endsBatch(first: number, count: number): boolean {
    return this.opaque === first + count;
  }

  /** The CAS is in every response header. */
  hasCas(): boolean {
    return true;
  }

  counter(): bigint {
    return this.u64();
  }

  /** A Stat response: the name is the key, the value the body. */
  stat(): [string, string] {
    return [this.keyText(), this.text()];
  }

  /** `Invalid arguments (the server's text)`. */
  message(): string {
    const text = this.valueEnd > this.valueStart ? ` (${this.text().slice(0, 200)})` : "";
    return `${statusName(this.status)}${text}`;
  }

  /** `"Get: key not found"`, for messages. */
  name(): string {
    return `${opcodeName(this.opcode)}: ${statusName(this.status)}`;
  }

  /** A description of the packet for error messages (never the value). */
  line(): string {
    return `${this.name()} (opaque ${this.opaque})`;
  }
}

/** Parses a response stream; see the module comment. */
export class BinaryParser extends ChunkParser {
  readonly reply = new BinaryReply();
  /** Key length of the packet whose header was read last. */
  #keyLength = 0;
  readonly #maxBody: number;

  constructor(
    readonly onReply: (reply: BinaryReply) => void,
    readonly maxValueSize: number,
  ) {
    super();
    this.#maxBody = maxValueSize + BODY_SLACK;
  }

  protected parse(buf: Buffer, off: number): void {
    const end = buf.length;
    while (off < end) {
      if (end - off < HEADER) {
        this.keepRest(buf, off);
        return;
      }
      const body = this.#header(buf, off);
      const bs = off + HEADER;
      if (bs + body <= end) {
        this.#body(buf, bs, body);
        off = bs + body;
        this.onReply(this.reply);
        continue;
      }
      // The body continues in a later chunk: keep the header and collect the body in one buffer.
      this.spill(buf, off, bs, bs, body);
      return;
    }
  }

  /** A packet whose body came over several chunks. */
  protected spilled(header: Buffer, body: Buffer): void {
    this.#header(header, 0);
    this.#body(body, 0, body.length);
    const r = this.reply;
    r.ownsValue = true;
    try {
      this.onReply(r);
    } finally {
      r.ownsValue = false;
    }
  }

  /** Reads the header at `b[s…]` into the reply; returns the body length. */
  #header(b: Buffer, s: number): number {
    if (b[s] !== RESPONSE) {
      throw new ProtocolError(`binary response magic is 0x${b[s]!.toString(16)}, not 0x81`);
    }
    const r = this.reply;
    r.opcode = b[s + 1]!;
    const keyLength = (b[s + 2]! << 8) | b[s + 3]!;
    r.extrasLength = b[s + 4]!;
    r.status = (b[s + 6]! << 8) | b[s + 7]!;
    const body = b.readUInt32BE(s + 8);
    r.opaque = b.readUInt32BE(s + 12);
    r.casHi = b.readUInt32BE(s + 16);
    r.casLo = b.readUInt32BE(s + 20);
    if (keyLength + r.extrasLength > body) {
      throw new ProtocolError(
        `${opcodeName(r.opcode)}: key (${keyLength}) and extras (${r.extrasLength}) are longer than the body (${body})`,
      );
    }
    if (body > this.#maxBody) {
      throw new ProtocolError(
        `${opcodeName(r.opcode)}: body of ${body} bytes is over maxValueSize (${this.maxValueSize})`,
      );
    }
    this.#keyLength = keyLength;
    return body;
  }

  /** Sets the body offsets: the body is `b[s, s + length)`. */
  #body(b: Buffer, s: number, length: number): void {
    const r = this.reply;
    // Stored only when it changed (the replies of a chunk share it): a write barrier per store.
    if (r.buf !== b) {
      r.buf = b;
      r.value = b;
    }
    r.extrasStart = s;
    r.keyStart = s + r.extrasLength;
    r.keyEnd = r.keyStart + this.#keyLength;
    r.valueStart = r.keyEnd;
    r.valueEnd = s + length;
    const op = r.opcode;
    r.clientFlags = r.extrasLength >= 4 && (op === GET || op === GETKQ || op === GAT) ? b.readUInt32BE(s) : 0;
  }
}
