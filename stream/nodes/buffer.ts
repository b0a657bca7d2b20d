// Nodes that let items pile up between a fast side and a slow one: buffer(n)
// and latest().
import { SerialGate, Waiters } from '../gate.ts';
import { disposeItem } from '../item.ts';
import { failMeta, type Held, type Meta, releaseMeta, retainMeta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import { LateErrors } from './late-errors.ts';

/**
 * Holds up to n items between its input and its output. An emit returns as
 * soon as its item is in the buffer, and waits only while the buffer is full;
 * the buffer's own pump hands items on, in order, one at a time. The item
 * being handed on counts towards n. On a cluster stream the items are
 * futures, so buffer(n) is the bound on tasks in flight.
 */
export class BufferNode extends Node {
  readonly #capacity: number;
  readonly #queue: Held[] = [];
  #delivering = false;
  readonly #intake = new SerialGate();
  readonly #room = new Waiters();
  readonly #drained = new Waiters();
  readonly #late: LateErrors;

  constructor(upstream: Node, n: number) {
    if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`buffer: n must be a positive integer, got ${n}`);
    super(`buffer(${n})`, [upstream]);
    this.#capacity = n;
    this.#late = new LateErrors(this.operator);
  }

  /** Items held, the one being handed on included. */
  get size(): number {
    return this.#queue.length + (this.#delivering ? 1 : 0);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#intake.run(() => this.#admit(x, meta), x);
  }

  #admit(x: unknown, meta: Meta): Maybe {
    if (this.size < this.#capacity) {
      retainMeta(meta); // held here until handed on
      this.#queue.push({ x, meta });
      this.#pump();
      this.#late.throwFirst();
      return;
    }
    return this.#room.wait().then(
      () => this.#admit(x, meta),
      (error: unknown) => {
        disposeItem(x);
        throw error;
      },
    );
  }

  #pump(): void {
    while (!this.#delivering && this.#queue.length > 0 && !this.context.cancelled) {
      const { x, meta } = this.#queue.shift() as Held;
      let result: Maybe;
      try {
        result = this.push(x, meta);
      } catch (error) {
        this.#failed(error, x, meta);
        continue;
      }
      if (!result) {
        releaseMeta(meta);
        continue;
      }
      this.#delivering = true;
      result.then(
        () => {
          releaseMeta(meta);
          this.#delivered();
        },
        (error: unknown) => {
          this.#failed(error, x, meta);
          this.#delivered();
        },
      );
    }
    this.#room.wakeAll();
    if (this.size === 0) this.#drained.wakeAll();
  }

  #delivered(): void {
    this.#delivering = false;
    this.#pump();
  }

  #failed(error: unknown, x: unknown, meta: Meta): void {
    failMeta(meta, error);
    if (!this.context.cancelled) this.#late.add(error, x);
  }

  protected override async flush(): Promise<void> {
    while (this.size > 0 && !this.context.cancelled) await this.#drained.wait();
  }

  protected override takeLateErrors(): unknown[] {
    return this.#late.takeAll();
  }

  protected override onAbort(reason: unknown): void {
    for (const { x, meta } of this.#queue.splice(0)) {
      disposeItem(x);
      failMeta(meta, reason);
    }
    this.#intake.rejectAll(reason);
    this.#room.rejectAll(reason);
    this.#drained.wakeAll();
  }
}

/**
 * Passes on only the newest item when the downstream side is busy: items
 * that arrive while one is being handed on replace each other, and all but
 * the last are dropped. An emit never waits.
 */
export class LatestNode extends Node {
  #next: Held | undefined;
  #delivering = false;
  readonly #drained = new Waiters();
  readonly #late: LateErrors;

  constructor(upstream: Node) {
    super('latest', [upstream]);
    this.#late = new LateErrors(this.operator);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    if (this.#next) {
      // Replaced: dropped by design, so done with.
      disposeItem(this.#next.x);
      releaseMeta(this.#next.meta);
    }
    retainMeta(meta);
    this.#next = { x, meta };
    this.#pump();
    this.#late.throwFirst();
  }

  #pump(): void {
    while (!this.#delivering && this.#next && !this.context.cancelled) {
      const { x, meta } = this.#next;
      this.#next = undefined;
      let result: Maybe;
      try {
        result = this.push(x, meta);
      } catch (error) {
        failMeta(meta, error);
        if (!this.context.cancelled) this.#late.add(error, x);
        continue;
      }
      if (!result) {
        releaseMeta(meta);
        continue;
      }
      this.#delivering = true;
      result.then(
        () => {
          releaseMeta(meta);
          this.#delivered();
        },
        (error: unknown) => {
          failMeta(meta, error);
          if (!this.context.cancelled) this.#late.add(error, x);
          this.#delivered();
        },
      );
    }
    if (!this.#delivering && !this.#next) this.#drained.wakeAll();
  }

  #delivered(): void {
    this.#delivering = false;
    this.#pump();
  }

  protected override async flush(): Promise<void> {
    while ((this.#delivering || this.#next) && !this.context.cancelled) await this.#drained.wait();
  }

  protected override takeLateErrors(): unknown[] {
    return this.#late.takeAll();
  }

  protected override onAbort(reason: unknown): void {
    if (this.#next) {
      disposeItem(this.#next.x);
      failMeta(this.#next.meta, reason);
    }
    this.#next = undefined;
    this.#drained.wakeAll();
  }
}
