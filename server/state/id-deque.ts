/**
 * A line of increasing ids: push at the back, shift from the front, and put
 * taken ids back in their place (ids that could not be delivered return to
 * the front, ahead of everything put after them).
 */
export class IdDeque {
  #items: number[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(id: number): void {
    this.#items.push(id);
  }

  /** The id at the front, left in place. */
  peek(): number | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  shift(): number | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const id = this.#items[this.#head++];
    // Drop the taken prefix once it is most of the array, so memory follows the length.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return id;
  }

  /** Put ids back where they belong, in id order. */
  restore(ids: readonly number[]): void {
    if (ids.length === 0) return;
    const back = [...ids].sort((a, b) => a - b);
    const front = this.#items[this.#head];
    if (this.length === 0 || back[back.length - 1] < front) {
      // The usual case: they were at the front when taken, and still are.
      if (this.#head >= back.length) {
        this.#head -= back.length;
        for (let i = 0; i < back.length; i++) this.#items[this.#head + i] = back[i];
      } else {
        this.#items = [...back, ...this.#items.slice(this.#head)];
        this.#head = 0;
      }
      return;
    }
    const rest = this.#items.slice(this.#head);
    const merged: number[] = [];
    let i = 0;
    let j = 0;
    while (i < back.length || j < rest.length) {
      if (j >= rest.length || (i < back.length && back[i] < rest[j])) merged.push(back[i++]);
      else merged.push(rest[j++]);
    }
    this.#items = merged;
    this.#head = 0;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i];
  }
}
