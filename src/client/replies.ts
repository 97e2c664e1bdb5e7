/**
 * What the reply handlers of both protocols share: the results they produce (`gets`, `fetch`), what
 * they need from their client (the codec), and the table the client picks by protocol.
 */
import type { CallAttempt, CallHandler } from "../cluster/call.js";
import type { ValueCodec } from "../serialization/codec.js";
import type { WireProtocol } from "../protocol/reply.js";
import { GetManyHandler, WRITE_MANY } from "./replies-batch.js";
import {
  ArithHandler,
  DeleteHandler,
  FetchHandler,
  FLUSH_HANDLER,
  NEVER_SENT,
  NOOP_HANDLER,
  ReadHandler,
  StatsHandler,
  StoreHandler,
  TouchHandler,
  VERSION_HANDLER,
  WarmReadHandler,
} from "./replies-single.js";
import { TEXT_NOOP, TEXT_WRITE_MANY, TextGetMany, ValueThenEnd } from "./replies-text.js";

/** What the handlers need from the client they decode for. */
export interface ReplyContext {
  codec: ValueCodec;
  /**
   * A plain read was handed the recache win of a stale item (`X W`) it will not use: give it back
   * (`md <key> I`, keeping the TTL) so that the next `fetch` reloads the item.
   */
  releaseWin(attempt: CallAttempt, token: string, base64: boolean): void;
}

/** The reply handlers of one protocol, by command: the client picks the set of its protocol. */
export interface Handlers {
  get: CallHandler;
  gets: CallHandler;
  touch: CallHandler;
  store: CallHandler;
  delete: CallHandler;
  arith: CallHandler;
  getMany: CallHandler;
  writeMany: CallHandler;
  stats: CallHandler;
  version: CallHandler;
  flush: CallHandler;
  noop: CallHandler;
  fetch: CallHandler;
  warmRead: CallHandler;
}

/** What `gets` resolves to. */
export interface GetsResult<T = unknown> {
  /** The decoded value. */
  value: T;
  /** CAS token, for {@link Client.cas}. */
  cas: bigint;
  /** Client flags stored with the value. */
  flags: number;
}

/** What one `mg … N R` of {@link Client.fetch} tells. */
export interface FetchReply {
  /** The item holds a usable value (possibly stale); false for a stub made by `N` on a miss. */
  hasValue: boolean;
  value: unknown;
  /** CAS of the item (or stub), for the winner's write-back. */
  cas: bigint;
  /** `W`: this caller won the right to (re)load. */
  won: boolean;
  /** `X`: the item is stale (invalidated). */
  stale: boolean;
  /** `Z`: another caller already won. */
  claimed: boolean;
}

/**
 * The reply handlers of a client, by command, decoding with `ctx`: one table for every protocol;
 * `fetch` only exists in meta (other clients refuse it before anything is sent). The text protocol
 * wraps reads in their `VALUE … END` shape and has its own batches (`replies-text.ts`).
 */
export function handlersFor(protocol: WireProtocol, ctx: ReplyContext): Handlers {
  const get = new ReadHandler(ctx, false);
  const gets = new ReadHandler(ctx, true);
  const warmRead = new WarmReadHandler(ctx);
  const shared = {
    touch: new TouchHandler(ctx),
    store: new StoreHandler(ctx),
    delete: new DeleteHandler(ctx),
    arith: new ArithHandler(ctx),
    stats: new StatsHandler(ctx),
    version: VERSION_HANDLER,
    flush: FLUSH_HANDLER,
  };
  if (protocol === "text") {
    return {
      ...shared,
      get: new ValueThenEnd(get, "get"),
      gets: new ValueThenEnd(gets, "gets"),
      getMany: new TextGetMany(ctx),
      writeMany: TEXT_WRITE_MANY,
      noop: TEXT_NOOP,
      fetch: NEVER_SENT,
      warmRead: new ValueThenEnd(warmRead, "get"),
    };
  }
  return {
    ...shared,
    get,
    gets,
    getMany: new GetManyHandler(ctx),
    writeMany: WRITE_MANY,
    noop: NOOP_HANDLER,
    fetch: protocol === "binary" ? NEVER_SENT : new FetchHandler(ctx),
    warmRead,
  };
}
