/**
 * A denque that keeps its item count in a field. A connection reads the length of its queues several
 * times per request (to pick the least busy connection, to check `maxQueue`, to count the room in
 * flight); denque computes it from its ring's ends each time, in a call that the hot paths do not
 * inline. Every method that adds or removes items keeps {@link Fifo.count} true.
 *
 * Only the ends are used: denque's `remove`, `removeOne` and `splice` throw here. Nothing needs them,
 * and denque 2.1.0's `remove` can leave a wrapped ring out of order (a property test found a sequence
 * of eight pushes, shifts, splices and removes after which its items differ from an array's).
 */
import Denque from "denque";

export class Fifo<T> extends Denque<T> {
  #count = 0;

  /** How many items the queue holds (what `length` and `size()` compute). */
  get count(): number {
    return this.#count;
  }

  override push(item: T): number {
    this.#count++;
    return super.push(item);
  }

  override unshift(item: T): number {
    this.#count++;
    return super.unshift(item);
  }

  override shift(): T | undefined {
    const item = super.shift();
    if (this.#count > 0) this.#count--;
    return item;
  }

  override pop(): T | undefined {
    const item = super.pop();
    if (this.#count > 0) this.#count--;
    return item;
  }

  override remove(): never {
    throw unsupported("remove");
  }

  override removeOne(): never {
    throw unsupported("removeOne");
  }

  override splice(): never {
    throw unsupported("splice");
  }

  override clear(): void {
    super.clear();
    this.#count = 0;
  }
}

function unsupported(method: string): Error {
  return new Error(`Fifo.${method}: only the ends of the queue are used (push, unshift, shift, pop, clear)`);
}
