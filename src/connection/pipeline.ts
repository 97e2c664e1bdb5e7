/**
 * The two queues of a connection and the wire between them:
 *
 *   pending (a Fifo, not on the wire) ─flush─▶ encoder ─▶ socket ··· parser ─▶ in-flight FIFO head ─▶ handler
 *
 * `flush` encodes every waiting attempt (up to `maxInFlight` in flight) into one {@link Writer} and
 * writes it with one `socket.write`; replies come back in order and each goes to the head of the
 * FIFO, whose handler checks the opaque. One written batch in {@link SAMPLE_EVERY} has its first
 * attempt timed, from its write to its reply, for the latency average: two clock reads per sample,
 * not per batch (a clock read is a system call on some VMs).
 */
import type { Socket } from "node:net";
import { Fifo } from "../util/fifo.js";
import { ProtocolError } from "../errors.js";
import { encodeBinary } from "../protocol/binary/encoder.js";
import { BinaryParser } from "../protocol/binary/parser.js";
import { encodeMeta } from "../protocol/meta/encoder.js";
import { OPAQUE_LIMIT } from "../protocol/meta/opaque-token.js";
import { MetaParser } from "../protocol/meta/parser.js";
import type { Frame } from "../protocol/frame.js";
import type { PooledBytes } from "../protocol/pooled-bytes.js";
import type { Reply, WireProtocol } from "../protocol/reply.js";
import { encodeText } from "../protocol/text/encoder.js";
import { TextParser } from "../protocol/text/parser.js";
import { Writer } from "../protocol/writer.js";
import { type Attempt, QUEUED, SETTLED, WRITTEN } from "./attempt.js";
import { isNudge, isOwn } from "./handshake.js";
import { scheduleFlush } from "./write-pacing.js";

/** One batch in this many is timed for the latency average. */
const SAMPLE_EVERY = 8;
/** Flush early once this much is encoded, so one tick's burst does not build one huge buffer. */
const HIGH_WATER = 256 * 1024;

export class Pipeline {
  /** Attempts waiting to be written. */
  readonly pending = new Fifo<Attempt>();
  /** Attempts written, reply owed, in write order. */
  readonly inflight = new Fifo<Attempt>();
  /** The socket asked us to wait for `drain`. */
  blocked = false;
  /**
   * TLS nudges in flight (see `watchdog.ts`). memcached may hold the last one's reply until more bytes
   * come, so they are not owed to anyone: a connection owing only nudges is idle.
   */
  nudges = 0;
  /** Replies that completed an attempt so far: progress, which bytes alone are not (a dribbling server). */
  answered = 0;
  readonly #writer: Writer;
  readonly #parser: MetaParser | BinaryParser | TextParser;
  /** The encoder of the protocol spoken, picked once: writes a frame, returns the opaques it used. */
  readonly #encodeFrame: (w: Writer, frame: Frame, opaque: number) => number;
  readonly #maxInFlight: number;
  /** Plain sockets hand bytes to the kernel at once; TLS may keep cleartext until it can encrypt it. */
  readonly #plain: boolean;
  #opaque = 0;
  #sample: Attempt | null = null;
  #sampleAt = 0;
  /** Batches written while no sample was out: every {@link SAMPLE_EVERY}th is sampled. */
  #flushes = 0;
  #latency = -1;

  constructor(
    protocol: WireProtocol,
    plain: boolean,
    maxValueSize: number,
    maxInFlight: number,
    /** Where the opaque counter starts (tests start it near its wrap). */
    firstOpaque = 0,
  ) {
    this.#opaque = firstOpaque;
    this.#encodeFrame = protocol === "meta" ? encodeMeta : protocol === "binary" ? encodeBinary : encodeText;
    this.#plain = plain;
    this.#writer = new Writer(plain);
    this.#maxInFlight = maxInFlight;
    const onReply = (reply: Reply) => this.#onReply(reply);
    this.#parser =
      protocol === "binary"
        ? new BinaryParser(onReply, maxValueSize)
        : protocol === "text"
          ? new TextParser(onReply, maxValueSize)
          : new MetaParser(onReply, maxValueSize);
  }

  /** Round-trip latency, ms: an exponentially weighted average of sampled attempts (one batch in eight); -1 before any. */
  get latency(): number {
    return this.#latency;
  }

  /** Whether waiting attempts could be written now (room in flight, no backpressure). */
  get writable(): boolean {
    return this.pending.count > 0 && this.inflight.count < this.#maxInFlight && !this.blocked;
  }

  /**
   * Every attempt, waiting or in flight, is settled (answered, timed out, aborted): no one waits for
   * this connection any more, only late replies are owed.
   */
  get nobodyWaits(): boolean {
    return allSettled(this.pending) && allSettled(this.inflight);
  }

  /** Takes out the callers' attempts not yet written and not settled, in order (a recycle sends them elsewhere). */
  takeUnwritten(): Attempt[] {
    const taken: Attempt[] = [];
    const kept: Attempt[] = [];
    while (this.pending.count > 0) {
      const a = this.pending.shift()!;
      if (isOwn(a)) kept.push(a);
      else if (a.state !== SETTLED) taken.push(a);
    }
    for (const a of kept) this.pending.push(a);
    return taken;
  }

  /**
   * Runs `flush` once the requests sent together are in. With replies owed, after the event-loop
   * turn's I/O callbacks (`setImmediate`), so that what those callbacks send joins the same write.
   * With none owed, as soon as the microtasks already queued have run (the continuations of the
   * promises the current callback settled): a caller that awaits each request, or one batch at a
   * time, is not held for the rest of the turn. The price: what other callbacks of the same turn
   * send then goes out in a second write (the connection owes replies by then, so not a third).
   * `afterIO`: after the turn's I/O callbacks in any case. Past the process's share of writes in a
   * turn, in a later one (`write-pacing.ts`).
   */
  schedule(flush: () => void, afterIO = false): void {
    scheduleFlush(flush, !afterIO && this.owed === 0);
  }

  /** Writes what waits, up to `maxInFlight` in flight. Returns true when something was written. */
  flush(socket: Socket): boolean {
    const pending = this.pending;
    const max = this.#maxInFlight;
    const w = this.#writer;
    // Everything written before has left for the kernel: the writer's slabs are free again.
    if (this.#plain && socket.writableLength === 0) w.rewind();
    let first: Attempt | null = null;
    let room = max - this.inflight.count;
    while (room > 0) {
      const a = pending.shift();
      if (a === undefined) break;
      if (a.state !== QUEUED) continue; // timed out or aborted before it was written: never sent
      this.#encode(a);
      room--;
      first ??= a;
      if (w.length >= HIGH_WATER && !this.#write(socket)) break;
    }
    if (first === null) return false;
    if (this.#sample === null && this.#flushes++ % SAMPLE_EVERY === 0) {
      this.#sample = first;
      this.#sampleAt = performance.now();
    }
    this.#write(socket);
    return true;
  }

  /** Replies owed to callers (and to the connection's hello): those in flight that are not nudges. */
  get owed(): number {
    return this.inflight.count - this.nudges;
  }

  /** Writes the nudge `a` at once, past `maxInFlight` and backpressure (the writer is empty between flushes). */
  writeNudge(a: Attempt, socket: Socket): void {
    this.#encode(a);
    this.nudges++;
    this.#write(socket);
  }

  /** Parses bytes read; handlers settle attempts. Throws on a reply that breaks the stream. */
  feed(chunk: Buffer): void {
    this.#parser.feed(chunk);
  }

  /** Forgets the wire state of a lost socket (the caller fails what was in flight). */
  reset(): void {
    this.blocked = false;
    this.#parser.reset();
    this.#writer.reset();
    this.#sample = null;
    this.nudges = 0;
  }

  /** Encodes `a` into the writer with the next opaque(s) and moves it in flight. */
  #encode(a: Attempt): void {
    // A frame's opaques are consecutive (one per key of a batch, and binary's closing no-op): they
    // wrap together, and a batch too big to fit is refused before it is built (`call-builder.ts`).
    const opaque = this.#opaque + a.frame.keyCount + 1 > OPAQUE_LIMIT ? 0 : this.#opaque;
    const w = this.#writer;
    const used = this.#encodeFrame(w, a.frame, opaque);
    a.opaque = opaque;
    this.#opaque = opaque + used;
    a.state = WRITTEN;
    this.inflight.push(a);
  }

  /** Writes what the writer holds; false when the socket asks us to wait for `drain`. */
  #write(socket: Socket): boolean {
    const chunks = this.#writer.finish();
    const held = this.#writer.takeHeld();
    let ok = true;
    if (held !== null) ok = writeHeld(socket, chunks, held);
    else if (chunks.length === 1) ok = socket.write(chunks[0]!);
    else if (chunks.length > 1) {
      socket.cork();
      for (const c of chunks) ok = socket.write(c);
      socket.uncork();
    }
    if (!ok) this.blocked = true;
    // Every byte handed to the kernel: the slab can be reused.
    else if (this.#plain && socket.writableLength === 0) this.#writer.rewind();
    return ok;
  }

  #onReply(reply: Reply): void {
    const a = this.inflight.peekFront();
    if (a === undefined) {
      throw new ProtocolError(`unsolicited reply ${JSON.stringify(reply.line())} with no request in flight`);
    }
    if (a.handler.onReply(a, reply)) {
      this.inflight.shift();
      this.answered++;
      if (this.nudges !== 0 && isNudge(a)) this.nudges--;
      if (a === this.#sample) {
        const ms = performance.now() - this.#sampleAt;
        this.#latency = this.#latency < 0 ? ms : this.#latency * 0.8 + ms * 0.2;
        this.#sample = null;
      }
    }
  }
}

/**
 * Writes `chunks`, some of them pooled memory (`held`), and gives that memory back when the socket
 * is done with the last chunk (written, or failed with the socket): never while it may still read it.
 */
function writeHeld(socket: Socket, chunks: Buffer[], held: PooledBytes[]): boolean {
  const done = () => {
    for (const p of held) p.release();
  };
  const last = chunks.length - 1;
  let ok = true;
  socket.cork();
  for (let i = 0; i < last; i++) ok = socket.write(chunks[i]!);
  ok = socket.write(chunks[last]!, done);
  socket.uncork();
  return ok;
}

/** Whether every attempt of `queue` is settled (a TLS nudge is owed to no one). */
function allSettled(queue: Fifo<Attempt>): boolean {
  for (let i = 0; i < queue.count; i++) {
    const a = queue.peekAt(i)!;
    if (a.state !== SETTLED && !isNudge(a)) return false;
  }
  return true;
}
