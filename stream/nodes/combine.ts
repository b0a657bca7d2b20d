// Operators that join streams: zip, combineLatest and zipLatest (union is a
// PassNode with several upstreams). Inputs may join (connect) and leave
// (disconnect) at any time: their state is kept by input node, never by a
// position fixed when the operator was made.
import { Waiters } from '../gate.ts';
import { disposeItem, shareItem } from '../item.ts';
import { Node, type Maybe } from '../node.ts';
import type { Pack } from './windows.ts';

function notAnInput(operator: string): Error {
  return new Error(`${operator}: an item came from a stream that is not one of its inputs`);
}

export interface ZipOptions {
  /** How many items one input may hold ahead of the others before its emits wait. Default 10 (streamz's). */
  maxsize?: number;
}

/** A value zip puts at a fixed place in every tuple (streamz's zip literals). */
export interface ZipLiteral {
  /** Its place in the tuple. */
  index: number;
  value: unknown;
}

/**
 * Tuples of the i-th item of every input. The emit that completes a tuple
 * returns when the tuple has been taken; an input that runs more than
 * `maxsize` items ahead of the others waits (backpressure). Once an input
 * has ended with nothing left to pair, items from the others are dropped,
 * as zip drops the tail of the longer lists.
 *
 * The tuple has one place per input, in the order the inputs were given and
 * then connected; a stream given twice (`a.zip(a)`) fills two places with
 * the same item, and literals sit at the places they were given.
 */
export class ZipNode extends Node {
  /** One per place in the tuple (before literals): the input that fills it. */
  readonly #slots: Node[];
  readonly #buffers = new Map<Node, unknown[]>();
  readonly #maxsize: number;
  readonly #literals: readonly ZipLiteral[];
  readonly #pack: Pack;
  readonly #space = new Waiters();

  constructor(inputs: readonly Node[], options: ZipOptions = {}, literals: readonly ZipLiteral[] = [], pack: Pack = (items) => items) {
    const maxsize = options.maxsize ?? 10;
    if (!(Number.isInteger(maxsize) && maxsize > 0)) throw new RangeError(`zip: maxsize must be a positive integer, got ${maxsize}`);
    super('zip', [...new Set(inputs)]);
    this.#slots = [...inputs];
    this.#maxsize = maxsize;
    this.#literals = [...literals].sort((p, q) => p.index - q.index);
    this.#pack = pack;
  }

  protected override onUpstreamAdded(node: Node): void {
    this.#slots.push(node);
  }

  protected override onUpstreamRemoved(node: Node): void {
    for (let i = this.#slots.indexOf(node); i >= 0; i = this.#slots.indexOf(node)) this.#slots.splice(i, 1);
    for (const x of this.#buffers.get(node) ?? []) disposeItem(x);
    this.#buffers.delete(node);
    // A tuple that waited only for the input that left is complete now: a waiting emit takes it out.
    this.#space.wakeAll();
  }

  #buffer(node: Node): unknown[] {
    let buffer = this.#buffers.get(node);
    if (!buffer) this.#buffers.set(node, (buffer = []));
    return buffer;
  }

  protected accept(x: unknown, from: Node | undefined): Maybe {
    if (!from || !this.upstreams.includes(from)) throw notAnInput('zip');
    if (this.#exhausted(from)) {
      disposeItem(x);
      return;
    }
    const buffer = this.#buffer(from);
    buffer.push(x);
    const sent = this.#sendComplete();
    if (buffer.length <= this.#maxsize) return sent;
    return sent ? sent.then(() => this.#waitForSpace(from)) : this.#waitForSpace(from);
  }

  /** Emit every tuple that is complete, in order; resolves when they have been taken. */
  #sendComplete(): Maybe {
    while (this.#complete()) {
      const sent = this.push(this.#next());
      if (sent) return sent.then(() => this.#sendComplete());
    }
  }

  #complete(): boolean {
    if (this.upstreams.length === 0) return false;
    for (const node of this.upstreams) if (!this.#buffers.get(node)?.length) return false;
    return true;
  }

  /** Take the head of every input's buffer: one tuple. */
  #next(): unknown {
    const heads = new Map<Node, unknown[]>();
    for (const node of this.upstreams) {
      const places = this.#slots.reduce((n, slot) => n + (slot === node ? 1 : 0), 0);
      heads.set(node, shareItem(this.#buffer(node).shift(), Math.max(places, 1)));
    }
    const values = this.#slots.map((node) => (heads.get(node) as unknown[]).pop());
    this.#space.wakeAll();
    if (this.#literals.length === 0) return this.#pack(values);
    const tuple: unknown[] = [];
    for (const { index, value } of this.#literals) {
      while (tuple.length < index && values.length > 0) tuple.push(values.shift());
      tuple.push(value);
    }
    tuple.push(...values);
    return this.#pack(tuple);
  }

  async #waitForSpace(node: Node): Promise<void> {
    for (;;) {
      await this.#sendComplete();
      const buffer = this.#buffers.get(node);
      if (!buffer || buffer.length <= this.#maxsize || this.#exhausted(node) || this.context.cancelled) return;
      await this.#space.wait();
    }
  }

  /** Some other input has ended and has nothing left to pair with `node`'s items. */
  #exhausted(node: Node): boolean {
    return this.upstreams.some((u) => u !== node && this.hasEnded(u) && !this.#buffers.get(u)?.length);
  }

  protected override onUpstreamEnded(): void {
    for (const [node, buffer] of this.#buffers) if (this.#exhausted(node)) for (const x of buffer.splice(0)) disposeItem(x);
    this.#space.wakeAll();
  }

  protected override flush(): Maybe {
    const sent = this.#sendComplete();
    const rest = (): void => {
      for (const buffer of this.#buffers.values()) for (const x of buffer.splice(0)) disposeItem(x);
    };
    if (!sent) return rest();
    return sent.then(rest);
  }

  protected override onAbort(reason: unknown): void {
    for (const buffer of this.#buffers.values()) for (const x of buffer.splice(0)) disposeItem(x);
    this.#space.rejectAll(reason);
  }
}

export interface CombineLatestOptions<S = unknown> {
  /**
   * Emit only when these inputs send an item: streams, or positions (0 is
   * the stream combineLatest was called on). Default: any input, including
   * inputs connected later.
   */
  emitOn?: ReadonlyArray<number | S> | number | S;
}

/**
 * After an input sends an item (once every input has sent one), the tuple of
 * each input's latest item, in the order of the inputs. An input connected
 * later must send an item before the next tuple goes out; one that is
 * disconnected leaves the tuple.
 */
export class CombineLatestNode extends Node {
  readonly #latest = new Map<Node, unknown>();
  /** The inputs it emits on; undefined: all of them. */
  readonly #emitOn: ReadonlySet<Node> | undefined;

  constructor(upstreams: readonly Node[], emitOn?: readonly Node[]) {
    if (new Set(upstreams).size !== upstreams.length) throw new Error('combineLatest: the same stream is given twice');
    super('combineLatest', upstreams);
    this.#emitOn = emitOn && new Set(emitOn);
  }

  protected override beforeUpstreamRemoved(node: Node): void {
    const emitOn = this.#emitOn;
    if (emitOn?.has(node) && !this.upstreams.some((u) => u !== node && emitOn.has(u))) {
      throw new Error('combineLatest: this is the last input it emits on (emitOn); without it nothing would ever be emitted');
    }
  }

  protected override onUpstreamRemoved(node: Node): void {
    this.#latest.delete(node);
  }

  protected accept(x: unknown, from: Node | undefined): Maybe {
    if (!from || !this.upstreams.includes(from)) throw notAnInput('combineLatest');
    this.#latest.set(from, x);
    if (this.#emitOn && !this.#emitOn.has(from)) return;
    if (this.#latest.size < this.upstreams.length) return;
    return this.push(this.upstreams.map((u) => this.#latest.get(u)));
  }
}

/**
 * streamz's zip_latest: every item of the first input (lossless), paired
 * with the latest item of each other input. Items of the first input wait
 * until every other input has sent one.
 */
export class ZipLatestNode extends Node {
  readonly #lossless: Node;
  readonly #latest = new Map<Node, unknown>();
  readonly #waiting: unknown[] = [];

  constructor(upstreams: readonly Node[]) {
    if (new Set(upstreams).size !== upstreams.length) throw new Error('zipLatest: the same stream is given twice');
    super('zipLatest', upstreams);
    this.#lossless = upstreams[0];
  }

  protected override beforeUpstreamRemoved(node: Node): void {
    if (node === this.#lossless) throw new Error('zipLatest: the first (lossless) input cannot be disconnected; every tuple is made from its items');
  }

  protected override onUpstreamRemoved(node: Node): void {
    this.#latest.delete(node);
  }

  protected accept(x: unknown, from: Node | undefined): Maybe {
    if (!from || !this.upstreams.includes(from)) throw notAnInput('zipLatest');
    if (from === this.#lossless) this.#waiting.push(x);
    else this.#latest.set(from, x);
    return this.#sendWaiting();
  }

  #sendWaiting(): Maybe {
    while (this.#waiting.length > 0 && this.#latest.size === this.upstreams.length - 1) {
      const x = this.#waiting.shift();
      const sent = this.push(this.upstreams.map((u) => (u === this.#lossless ? x : this.#latest.get(u))));
      if (sent) return sent.then(() => this.#sendWaiting());
    }
  }

  protected override flush(): void {
    for (const x of this.#waiting.splice(0)) disposeItem(x);
  }

  protected override onAbort(): void {
    for (const x of this.#waiting.splice(0)) disposeItem(x);
  }
}
