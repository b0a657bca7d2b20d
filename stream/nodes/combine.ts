// Operators that join streams: zip, combineLatest and zipLatest (union is a
// PassNode with several upstreams). Inputs may join (connect) and leave
// (disconnect) at any time: their state is kept by input node, never by a
// position fixed when the operator was made.
import { Waiters } from '../gate.ts';
import { disposeItem, shareItem } from '../item.ts';
import { failMeta, type Held, type Meta, releaseMeta, retainMeta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import type { Pack } from './windows.ts';

function notAnInput(operator: string): Error {
  return new Error(`${operator}: an item came from a stream that is not one of its inputs`);
}

/** Let go of held items nobody will use: dropped by design (done with), or failed with `reason` (cancelled). */
function dropHeld(held: Iterable<Held>, reason?: { error: unknown }): void {
  for (const { x, meta } of held) {
    disposeItem(x);
    if (reason) failMeta(meta, reason.error);
    else releaseMeta(meta);
  }
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
  readonly #buffers = new Map<Node, Held[]>();
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
    dropHeld(this.#buffers.get(node) ?? []);
    this.#buffers.delete(node);
    // A tuple that waited only for the input that left is complete now: a waiting emit takes it out.
    this.#space.wakeAll();
  }

  #buffer(node: Node): Held[] {
    let buffer = this.#buffers.get(node);
    if (!buffer) this.#buffers.set(node, (buffer = []));
    return buffer;
  }

  protected accept(x: unknown, from: Node | undefined, meta: Meta): Maybe {
    if (!from || !this.upstreams.includes(from)) throw notAnInput('zip');
    if (this.#exhausted(from)) {
      disposeItem(x);
      return;
    }
    const buffer = this.#buffer(from);
    retainMeta(meta); // held until its tuple is handed on
    buffer.push({ x, meta });
    const sent = this.#sendComplete();
    if (buffer.length <= this.#maxsize) return sent;
    return sent ? sent.then(() => this.#waitForSpace(from)) : this.#waitForSpace(from);
  }

  /** Emit every tuple that is complete, in order; resolves when they have been taken. */
  #sendComplete(): Maybe {
    while (this.#complete()) {
      const taken = this.upstreams.map((node) => this.#buffer(node).shift() as Held);
      this.#space.wakeAll();
      const sent = this.pushCombined(this.#tuple(taken), taken);
      if (sent) return sent.then(() => this.#sendComplete());
    }
  }

  #complete(): boolean {
    if (this.upstreams.length === 0) return false;
    for (const node of this.upstreams) if (!this.#buffers.get(node)?.length) return false;
    return true;
  }

  /** The tuple of the items taken from each input (in upstreams order): one place per slot, literals at theirs. */
  #tuple(taken: readonly Held[]): unknown {
    const heads = new Map<Node, unknown[]>();
    this.upstreams.forEach((node, i) => {
      const places = this.#slots.reduce((n, slot) => n + (slot === node ? 1 : 0), 0);
      heads.set(node, shareItem(taken[i].x, Math.max(places, 1)));
    });
    const values = this.#slots.map((node) => (heads.get(node) as unknown[]).pop());
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
    for (const [node, buffer] of this.#buffers) if (this.#exhausted(node)) dropHeld(buffer.splice(0));
    this.#space.wakeAll();
  }

  protected override flush(): Maybe {
    const sent = this.#sendComplete();
    const rest = (): void => {
      for (const buffer of this.#buffers.values()) dropHeld(buffer.splice(0));
    };
    if (!sent) return rest();
    return sent.then(rest);
  }

  protected override onAbort(reason: unknown): void {
    for (const buffer of this.#buffers.values()) dropHeld(buffer.splice(0), { error: reason });
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
  /** Each input's latest item, held until replaced. */
  readonly #latest = new Map<Node, Held>();
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
    const old = this.#latest.get(node);
    if (old) releaseMeta(old.meta);
    this.#latest.delete(node);
  }

  protected accept(x: unknown, from: Node | undefined, meta: Meta): Maybe {
    if (!from || !this.upstreams.includes(from)) throw notAnInput('combineLatest');
    const old = this.#latest.get(from);
    if (old) releaseMeta(old.meta); // replaced: done with here
    retainMeta(meta);
    this.#latest.set(from, { x, meta });
    if (this.#emitOn && !this.#emitOn.has(from)) return;
    if (this.#latest.size < this.upstreams.length) return;
    const latest = this.upstreams.map((u) => this.#latest.get(u) as Held);
    for (const h of latest) retainMeta(h.meta); // the tuple's own hold; the latest stay held here too
    return this.pushCombined(
      latest.map((h) => h.x),
      latest,
    );
  }

  protected override flush(): void {
    for (const { meta } of this.#latest.values()) releaseMeta(meta);
    this.#latest.clear();
  }

  protected override onAbort(reason: unknown): void {
    for (const { meta } of this.#latest.values()) failMeta(meta, reason);
    this.#latest.clear();
  }
}

/**
 * streamz's zip_latest: every item of the first input (lossless), paired
 * with the latest item of each other input. Items of the first input wait
 * until every other input has sent one.
 */
export class ZipLatestNode extends Node {
  readonly #lossless: Node;
  /** The latest item of each other input, held until replaced. */
  readonly #latest = new Map<Node, Held>();
  /** Items of the first input waiting for every other input to have one. */
  readonly #waiting: Held[] = [];

  constructor(upstreams: readonly Node[]) {
    if (new Set(upstreams).size !== upstreams.length) throw new Error('zipLatest: the same stream is given twice');
    super('zipLatest', upstreams);
    this.#lossless = upstreams[0];
  }

  protected override beforeUpstreamRemoved(node: Node): void {
    if (node === this.#lossless) throw new Error('zipLatest: the first (lossless) input cannot be disconnected; every tuple is made from its items');
  }

  protected override onUpstreamRemoved(node: Node): void {
    const old = this.#latest.get(node);
    if (old) releaseMeta(old.meta);
    this.#latest.delete(node);
  }

  protected accept(x: unknown, from: Node | undefined, meta: Meta): Maybe {
    if (!from || !this.upstreams.includes(from)) throw notAnInput('zipLatest');
    retainMeta(meta);
    if (from === this.#lossless) {
      this.#waiting.push({ x, meta });
    } else {
      const old = this.#latest.get(from);
      if (old) releaseMeta(old.meta); // replaced: done with here
      this.#latest.set(from, { x, meta });
    }
    return this.#sendWaiting();
  }

  #sendWaiting(): Maybe {
    while (this.#waiting.length > 0 && this.#latest.size === this.upstreams.length - 1) {
      const first = this.#waiting.shift() as Held;
      const held = this.upstreams.map((u) => (u === this.#lossless ? first : (this.#latest.get(u) as Held)));
      for (const h of held) if (h !== first) retainMeta(h.meta); // the tuple's own hold; the latest stay held here too
      const sent = this.pushCombined(
        held.map((h) => h.x),
        held,
      );
      if (sent) return sent.then(() => this.#sendWaiting());
    }
  }

  protected override flush(): void {
    dropHeld(this.#waiting.splice(0));
    for (const { meta } of this.#latest.values()) releaseMeta(meta);
    this.#latest.clear();
  }

  protected override onAbort(reason: unknown): void {
    dropHeld(this.#waiting.splice(0), { error: reason });
    for (const { meta } of this.#latest.values()) failMeta(meta, reason);
    this.#latest.clear();
  }
}
