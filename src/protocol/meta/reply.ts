/**
 * One parsed meta reply, and what it says in the protocol-neutral words of `../reply.ts`. The parser
 * reuses one object: its offsets point into the buffer being parsed, valid only during the callback.
 */
import * as K from "../reply.js";
import { bytesAre, counterOf, type ReplyView, statOf } from "../reply.js";
import {
  CLIENT_ERROR,
  CODE_NAMES,
  EN,
  END,
  EX,
  HD,
  MN,
  NF,
  NS,
  OK,
  SERVER_ERROR,
  STAT,
  VA,
  VERSION,
} from "./codes.js";

const EMPTY = Buffer.alloc(0);

/** Each code's protocol-neutral kind (see `reply.ts`), by code. */
const KINDS: number[] = [];
KINDS[VA] = K.VALUE;
KINDS[HD] = K.DONE;
KINDS[OK] = K.DONE;
KINDS[EN] = K.NOT_FOUND;
KINDS[NF] = K.NOT_FOUND;
KINDS[NS] = K.NOT_STORED;
KINDS[EX] = K.EXISTS;
KINDS[MN] = K.BATCH_END;
KINDS[STAT] = K.STAT;
KINDS[END] = K.END;
KINDS[VERSION] = K.VERSION;
KINDS[CLIENT_ERROR] = K.CLIENT_ERROR;
KINDS[SERVER_ERROR] = K.SERVER_ERROR;

/** Meta codes whose reply must echo the request's opaque. */
const CARRIES_OPAQUE: boolean[] = [];
for (const code of [VA, HD, EN, NS, EX, NF]) CARRIES_OPAQUE[code] = true;

/** One parsed reply. Reused: valid only during the parser's callback. */
export class MetaReply implements ReplyView {
  /** A refused `ms` may leave its value block to be read as a command. */
  readonly storeErrorBreaksStream = true;
  /** One of the codes in `codes.ts`. */
  code = 0;
  /** Buffer holding the reply line. */
  buf: Buffer = EMPTY;
  lineStart = 0;
  /** End of the line, before `\r\n`. */
  lineEnd = 0;
  /** For classic replies (`STAT`, `VERSION`, `*_ERROR`): start of the text after the first word. */
  argStart = 0;
  /** `VA` size. */
  size = -1;
  /** `VA` data: `value[valueStart, valueEnd)`. */
  value: Buffer = EMPTY;
  valueStart = 0;
  valueEnd = 0;
  /** The value's buffer is this reply's alone (see `ReplyView`). */
  ownsValue = false;
  /** `O` flag as a number; -1 when absent, -2 when not a token the client writes (`opaque-token.ts`). */
  opaque = -1;
  /** `f` flag (client flags, u32). */
  clientFlags = 0;
  /** Remaining TTL from a `t` flag, seconds (-1: never expires); -2 when the reply has none. */
  ttlLeft = -2;
  /** `c` flag token bounds in `buf`, -1 when absent. */
  casStart = -1;
  casEnd = -1;
  /** `k` flag token bounds in `buf`, -1 when absent. */
  keyStart = -1;
  keyEnd = -1;
  /** Bits of uppercase flag letters present (`W`, `X`, `Z`…), see `upperBit`. */
  upper = 0;
  /** Bits of lowercase flag letters present (`b`…), see `lowerBit`. */
  lower = 0;

  /** The `c` flag (CAS) as a bigint; 0n when absent. */
  cas(): bigint {
    if (this.casStart < 0) return 0n;
    return BigInt(this.buf.toString("latin1", this.casStart, this.casEnd));
  }

  /** Text of the line after its first word (error message, stat, version). */
  text(): string {
    return this.buf.toString("latin1", this.argStart, this.lineEnd);
  }

  /** The whole line, for error messages (truncated). */
  line(): string {
    const end = Math.min(this.lineEnd, this.lineStart + 200);
    return this.buf.toString("latin1", this.lineStart, end);
  }

  /** Whether the `k` token equals `token` (an ASCII key token as sent). */
  keyIs(token: string): boolean {
    return bytesAre(this.buf, this.keyStart, this.keyEnd, token);
  }

  hasKey(): boolean {
    return this.keyStart >= 0;
  }

  /** Name of the code, for messages. */
  name(): string {
    return CODE_NAMES[this.code] ?? "?";
  }

  /** The protocol-neutral kind (see `reply.ts`). */
  get kind(): number {
    return KINDS[this.code] ?? K.UNEXPECTED;
  }

  /**
   * A reply to a meta command carries the opaque it was sent with (memcached 1.6.18 echoes it on
   * `EN` too); classic lines (`STAT`, `END`, `VERSION`, `OK`, errors) and `MN` never carry one and
   * answer the request at the head. A bare `EN` is never taken as the answer to a request that sent
   * an opaque: it could be the late answer to another.
   */
  answers(opaque: number): boolean {
    return this.opaque === opaque || (this.opaque === -1 && CARRIES_OPAQUE[this.code] !== true);
  }

  /** `MN` carries no opaque: it ends whatever batch was written last before it. */
  endsBatch(_first: number, _count: number): boolean {
    return true;
  }

  hasCas(): boolean {
    return this.casStart >= 0;
  }

  /** `VA <n>` of `ma … v`: the counter as decimal digits. */
  counter(): bigint {
    return counterOf(this.value.toString("latin1", this.valueStart, this.valueEnd));
  }

  /** `STAT <name> <value>`. */
  stat(): [string, string] {
    return statOf(this.text());
  }

  message(): string {
    return this.line();
  }
}
