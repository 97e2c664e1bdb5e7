/**
 * Reused memory for big values on their way to the socket: the copy of a caller's Buffer, the UTF-8
 * bytes of a big string. Fresh memory of that size costs a page fault per page when first written
 * (more than the copy itself); memory handed back here is written again without one.
 *
 * A {@link PooledBytes} is counted: each holder (the call that made the copy, each socket write of
 * its bytes) takes a hold and gives it back once; the memory returns to its size class's free list
 * only when the last hold is given back, so it is never written over while a socket may still read
 * it. A holder that never gives its hold back only costs the reuse: the memory is then collected
 * like any other.
 *
 * Sizes are rounded up to a class (a power of two, or one of the seven eighths steps below it), so
 * that a value of nearly the same size reuses the memory of the last one. Free memory is bounded
 * ({@link MAX_FREE}): memory given back when the bound is reached takes the place of the free memory
 * of the classes least recently asked for, so a workload that moves to other sizes is not left with
 * the old sizes' memory and fresh memory for every new value.
 */

/** Values of more bytes than this go through pooled memory (smaller ones are cut from slabs). */
export const POOLED_ABOVE = 8 * 1024;

/** Free memory kept over every size class, bytes. */
const MAX_FREE = 32 * 1024 * 1024;

/** The free buffers of each size class, by class size. */
const free = new Map<number, Buffer[]>();
let freeBytes = 0;
/** When each class was last asked for, in takes: the classes asked for longest ago give way first. */
const lastAsked = new Map<number, number>();
let takes = 0;
/**
 * The pooled bytes behind a view handed out (a Buffer as written: the writer asks by it), kept on the
 * view under this symbol, hidden from enumeration and `inspect`. A WeakMap from view to pooled bytes
 * made every scavenge of the young generation walk its entries: a few values per millisecond slowed
 * each scavenge many times over.
 */
const POOLED = Symbol("memcachio.pooled");

function tag(view: Buffer, p: PooledBytes): void {
  Object.defineProperty(view, POOLED, { value: p });
}

/** `n` rounded up to its size class: a multiple of an eighth of the power of two at or above it. */
export function sizeClass(n: number): number {
  const top = 2 ** Math.ceil(Math.log2(n));
  const step = top / 8;
  return Math.ceil(n / step) * step;
}

/** Memory of one size class with its holds; {@link PooledBytes.bytes} is what is handed out. */
export class PooledBytes {
  /** Holders that have not given their hold back (the taker's is the first). */
  holds = 1;
  /**
   * Set by whoever decoded these bytes into a value that does not keep them (a string): the holder
   * that assembled them may then give them back (see `chunk-buffer.ts`).
   */
  dropped = false;

  constructor(
    /** The whole buffer of the size class. */
    readonly memory: Buffer,
    /** The view of the `n` bytes asked for: what is written. */
    readonly bytes: Buffer,
  ) {}

  /** A view of `bytes[start, end)` that {@link pooledOf} knows (a writer holds this memory for it). */
  view(start: number, end: number): Buffer {
    const v = this.bytes.subarray(start, end);
    tag(v, this);
    return v;
  }

  /** One more holder (a socket write of {@link PooledBytes.bytes}). */
  hold(): void {
    this.holds++;
  }

  /** Gives one hold back; the last one returns the memory to the free list. */
  release(): void {
    if (this.holds <= 0) throw new Error("pooled bytes released more often than held");
    if (--this.holds > 0) return;
    const m = this.memory;
    if (freeBytes + m.length > MAX_FREE && !makeRoom(m.length)) return;
    let list = free.get(m.length);
    if (list === undefined) free.set(m.length, (list = []));
    list.push(m);
    freeBytes += m.length;
  }
}

/**
 * Lets go of free memory of the classes asked for longest before `size`'s, until `size` more bytes
 * fit under {@link MAX_FREE}; false, letting go of nothing, when they cannot (too little of it is
 * older, or `size` is over the bound by itself).
 */
function makeRoom(size: number): boolean {
  const need = freeBytes + size - MAX_FREE;
  if (size > MAX_FREE) return false;
  const mine = lastAsked.get(size) ?? takes;
  let older = 0;
  for (const [s, list] of free) if ((lastAsked.get(s) ?? 0) < mine) older += s * list.length;
  if (older < need) return false;
  while (freeBytes + size > MAX_FREE) {
    let oldest = -1;
    let when = mine;
    for (const [s, list] of free) {
      const t = lastAsked.get(s) ?? 0;
      if (list.length > 0 && t < when) {
        oldest = s;
        when = t;
      }
    }
    free.get(oldest)!.pop();
    freeBytes -= oldest;
  }
  return true;
}

/** `n` bytes of reused memory, held once by the caller; their content is undefined. */
export function takeBytes(n: number): PooledBytes {
  const size = sizeClass(n);
  lastAsked.set(size, ++takes);
  const list = free.get(size);
  let memory = list?.pop();
  if (memory === undefined) memory = Buffer.allocUnsafeSlow(size);
  else freeBytes -= size;
  const bytes = memory.subarray(0, n);
  const p = new PooledBytes(memory, bytes);
  tag(bytes, p);
  return p;
}

/** The pooled bytes `view` is the view of, or undefined when it is not one. */
export function pooledOf(view: Buffer): PooledBytes | undefined {
  return (view as { [POOLED]?: PooledBytes })[POOLED];
}

/**
 * Says that `view`'s bytes were decoded into a value that does not keep them: when they are pooled
 * memory, its assembler may give it back once done. Anything that keeps a view must not call this.
 */
export function droppedView(view: Buffer): void {
  const p = pooledOf(view);
  if (p !== undefined) p.dropped = true;
}

/** Free memory kept, bytes (for tests). */
export function pooledFreeBytes(): number {
  return freeBytes;
}
