// Operators that join streams: zip and combineLatest (union is a PassNode
// with several upstreams).
import { Waiters } from '../gate.ts';
import { disposeItem } from '../item.ts';
import { Node, type Maybe } from '../node.ts';
import type { Pack } from './windows.ts';

function distinct(operator: string, upstreams: readonly Node[]): void {
  if (new Set(upstreams).size !== upstreams.length) throw new Error(`${operator}: the same stream is given twice`);
}

/**
 * Tuples of the i-th item of every upstream. The emit that completes a tuple
 * returns when the tuple has been taken; an upstream that runs more than
 * `maxsize` items ahead of the others waits (backpressure). Once an upstream
 * has ended with nothing left to pair, items from the others are dropped,
 * as zip drops the tail of the longer lists.
 */
export class ZipNode extends Node {
  readonly #buffers: unknown[][];
  readonly #maxsize: number;
  readonly #pack: Pack;
  readonly #space = new Waiters();

  constructor(upstreams: readonly Node[], maxsize = 10, pack: Pack = (items) => items) {
    distinct('zip', upstreams);
    super('zip', upstreams);
    this.#buffers = upstreams.map(() => []);
    this.#maxsize = maxsize;
    this.#pack = pack;
  }

  protected accept(x: unknown, from: Node | undefined): Maybe {
    const i = from ? this.upstreams.indexOf(from) : -1;
    if (i < 0) throw new Error('zip: an item came from a stream that is not one of its inputs');
    if (this.#exhausted(i)) {
      disposeItem(x);
      return;
    }
    const buffer = this.#buffers[i];
    buffer.push(x);
    if (this.#buffers.every((b) => b.length > 0)) {
      const tuple = this.#buffers.map((b) => b.shift());
      this.#space.wakeAll();
      return this.push(this.#pack(tuple));
    }
    if (buffer.length > this.#maxsize) return this.#waitForSpace(i);
  }

  async #waitForSpace(i: number): Promise<void> {
    while (this.#buffers[i].length > this.#maxsize && !this.#exhausted(i)) await this.#space.wait();
  }

  /** Some other upstream has ended and has nothing left to pair with upstream i's items. */
  #exhausted(i: number): boolean {
    return this.upstreams.some((u, j) => j !== i && this.hasEnded(u) && this.#buffers[j].length === 0);
  }

  protected override onUpstreamEnded(): void {
    for (const [i, buffer] of this.#buffers.entries()) if (this.#exhausted(i)) for (const x of buffer.splice(0)) disposeItem(x);
    this.#space.wakeAll();
  }

  protected override flush(): void {
    for (const buffer of this.#buffers) for (const x of buffer.splice(0)) disposeItem(x);
  }

  protected override onAbort(reason: unknown): void {
    for (const buffer of this.#buffers) for (const x of buffer.splice(0)) disposeItem(x);
    this.#space.rejectAll(reason);
  }
}

export interface CombineLatestOptions {
  /** Emit only when these inputs (by position: 0 is the stream combineLatest was called on) send an item; default: any of them. */
  emitOn?: readonly number[];
}

/** After any input sends an item (once every input has sent one), the tuple of each input's latest item. */
export class CombineLatestNode extends Node {
  readonly #latest: unknown[];
  readonly #seen: boolean[];
  readonly #emitOn: ReadonlySet<number>;

  constructor(upstreams: readonly Node[], options: CombineLatestOptions = {}) {
    distinct('combineLatest', upstreams);
    super('combineLatest', upstreams);
    this.#latest = upstreams.map(() => undefined);
    this.#seen = upstreams.map(() => false);
    for (const i of options.emitOn ?? []) {
      if (!(Number.isInteger(i) && i >= 0 && i < upstreams.length)) throw new RangeError(`combineLatest: emitOn ${i} is not an input position`);
    }
    this.#emitOn = new Set(options.emitOn ?? upstreams.map((_, i) => i));
  }

  protected accept(x: unknown, from: Node | undefined): Maybe {
    const i = from ? this.upstreams.indexOf(from) : -1;
    if (i < 0) throw new Error('combineLatest: an item came from a stream that is not one of its inputs');
    this.#latest[i] = x;
    this.#seen[i] = true;
    if (this.#emitOn.has(i) && this.#seen.every(Boolean)) return this.push(this.#latest.slice());
  }
}
