/**
 * The pool's FIFO of waiting messages. Array.prototype.shift() moves every
 * element, which costs O(n) per message once tens of thousands are queued;
 * this queue only advances an index and compacts now and then.
 */
export class TaskQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Puts items back at the front, in the order given. */
  unshift(...items: T[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      if (this.head > 0) this.items[--this.head] = items[i];
      else this.items.unshift(items[i]);
    }
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the queue and returns what it held, oldest first. */
  takeAll(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return all;
  }
}
