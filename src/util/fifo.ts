/**
 * A denque that keeps its item count in a field. A connection reads the length of its queues several
 * times per request (to pick the least busy connection, to check `maxQueue`, to count the room in
 * flight); denque computes it from its ring's ends each time, in a call that the hot paths do not
 * inline. Every method that adds or removes items keeps {@link Fifo.count} true.
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

  override remove(index: number, count: number): T[] {
    const removed = super.remove(index, count);
    this.#count = super.size();
    return removed;
  }

  override removeOne(index: number): T | undefined {
    const item = super.removeOne(index);
    this.#count = super.size();
    return item;
  }

  override splice(index: number, count: number, ...items: T[]): T[] | undefined {
    const removed = super.splice(index, count, ...items);
    this.#count = super.size();
    return removed;
  }

  override clear(): void {
    super.clear();
    this.#count = 0;
  }
}
