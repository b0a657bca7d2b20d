// Operators that group items into lists: partition, slidingWindow,
// timedWindow and collect.
import { SerialGate, Waiters } from '../gate.ts';
import { disposeItem } from '../item.ts';
import { Node, type Maybe } from '../node.ts';
import { LateErrors } from './late-errors.ts';

/** Turns a list of items into the item emitted (identity on local streams; one list-of-futures item on cluster streams). */
export type Pack = (items: unknown[]) => unknown;
const asList: Pack = (items) => items;

function checkCount(operator: string, n: number): void {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`${operator}: n must be a positive integer, got ${n}`);
}

export interface PartitionOptions {
  /** Emit a partial list when this long has passed since its first item arrived. */
  timeoutMs?: number;
}

/**
 * Lists of n items, in order. The emit of the n-th item returns when the
 * list has been taken. With `timeoutMs`, a list that has waited that long
 * since its first item goes out partial; end() emits the partial list left.
 */
export class PartitionNode extends Node {
  readonly #n: number;
  readonly #timeoutMs: number | undefined;
  readonly #pack: Pack;
  readonly #gate = new SerialGate();
  readonly #late: LateErrors;
  #items: unknown[] = [];
  #timer: AbortController | undefined;

  constructor(upstream: Node, n: number, options: PartitionOptions = {}, pack: Pack = asList) {
    checkCount('partition', n);
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`partition: timeoutMs must be > 0, got ${timeoutMs}`);
    super(timeoutMs === undefined ? `partition(${n})` : `partition(${n}, ${timeoutMs} ms)`, [upstream]);
    this.#n = n;
    this.#timeoutMs = timeoutMs;
    this.#pack = pack;
    this.#late = new LateErrors(this.operator);
  }

  protected accept(x: unknown): Maybe {
    return this.#gate.run(() => {
      this.#items.push(x);
      if (this.#items.length >= this.#n) return this.#emitList();
      if (this.#items.length === 1 && this.#timeoutMs !== undefined) this.#arm(this.#timeoutMs);
      this.#late.throwFirst();
    }, x);
  }

  #emitList(): Maybe {
    this.#timer?.abort();
    this.#timer = undefined;
    const items = this.#items;
    this.#items = [];
    return this.push(this.#pack(items));
  }

  #arm(ms: number): void {
    const timer = new AbortController();
    this.#timer = timer;
    this.context.clock.sleep(ms, AbortSignal.any([timer.signal, this.context.signal])).then(
      () => {
        // The timeout's list goes out through the gate, after any emit in progress, and counts as work in flight for end().
        const failed = (error: unknown): void => {
          if (!this.context.cancelled) this.#late.add(error, 'a partial list');
        };
        try {
          this.track(
            this.#gate.run(() => {
              if (this.#timer !== timer || this.#items.length === 0) return;
              return this.#emitList();
            }),
          )?.catch(failed);
        } catch (error) {
          failed(error);
        }
      },
      () => undefined, // the list filled up first, or the pipeline was cancelled
    );
  }

  protected override flush(): Maybe {
    if (this.#items.length > 0) return this.#emitList();
  }

  protected override takeLateErrors(): unknown[] {
    return this.#late.takeAll();
  }

  protected override onAbort(reason: unknown): void {
    this.#timer?.abort();
    for (const x of this.#items.splice(0)) disposeItem(x);
    this.#gate.rejectAll(reason);
  }
}

export interface SlidingWindowOptions {
  /** Also emit the shorter windows before n items have arrived. Default false. */
  partial?: boolean;
}

/** The last n items as a list, after each item (once n have arrived, unless `partial`). */
export class SlidingWindowNode extends Node {
  readonly #n: number;
  readonly #partial: boolean;
  readonly #window: unknown[] = [];

  constructor(upstream: Node, n: number, options: SlidingWindowOptions = {}) {
    checkCount('slidingWindow', n);
    super(`slidingWindow(${n})`, [upstream]);
    this.#n = n;
    this.#partial = options.partial ?? false;
  }

  protected accept(x: unknown): Maybe {
    this.#window.push(x);
    if (this.#window.length > this.#n) this.#window.shift();
    if (this.#window.length === this.#n || this.#partial) return this.push(this.#window.slice());
  }
}

/**
 * Lists of the items that arrived in each interval. Intervals are
 * consecutive spans of `ms` counted from when the node was made, so window
 * boundaries do not drift; an interval in which nothing arrived emits
 * nothing (and sets no timer). An emit returns once its item is in the
 * current window, and waits only while a closed window is still queued
 * behind one being taken (backpressure). end() emits the current window.
 */
export class TimedWindowNode extends Node {
  readonly #ms: number;
  readonly #origin: number;
  readonly #pack: Pack;
  readonly #intake = new SerialGate();
  readonly #progress = new Waiters();
  readonly #late: LateErrors;
  #current: unknown[] = [];
  readonly #closedWindows: unknown[][] = [];
  #timer: AbortController | undefined;
  #pumping = false;
  #running: Promise<void> = Promise.resolve();

  constructor(upstream: Node, ms: number, pack: Pack = asList) {
    if (!(Number.isFinite(ms) && ms > 0)) throw new RangeError(`timedWindow: the interval must be > 0 ms, got ${ms}`);
    super(`timedWindow(${ms})`, [upstream]);
    this.#ms = ms;
    this.#pack = pack;
    this.#origin = this.context.clock.now();
    this.#late = new LateErrors(this.operator);
  }

  protected accept(x: unknown): Maybe {
    return this.#intake.run(() => this.#admit(x), x);
  }

  #admit(x: unknown): Maybe {
    if (this.#closedWindows.length > 0) {
      return this.#progress.wait().then(
        () => this.#admit(x),
        (error: unknown) => {
          disposeItem(x);
          throw error;
        },
      );
    }
    this.#current.push(x);
    if (!this.#timer) this.#arm();
    this.#late.throwFirst();
  }

  #arm(): void {
    const { clock } = this.context;
    const now = clock.now();
    const end = this.#origin + (Math.floor((now - this.#origin) / this.#ms) + 1) * this.#ms;
    const timer = new AbortController();
    this.#timer = timer;
    clock.sleep(end - now, AbortSignal.any([timer.signal, this.context.signal])).then(
      () => {
        if (this.#timer === timer) this.#close();
      },
      () => undefined,
    );
  }

  #close(): void {
    this.#timer?.abort();
    this.#timer = undefined;
    if (this.#current.length === 0) return;
    this.#closedWindows.push(this.#current);
    this.#current = [];
    if (!this.#pumping) {
      this.#pumping = true;
      this.#running = this.#run();
    }
  }

  async #run(): Promise<void> {
    try {
      while (this.#closedWindows.length > 0 && !this.context.cancelled) {
        const items = this.#closedWindows.shift() as unknown[];
        this.#progress.wakeAll();
        try {
          await this.push(this.#pack(items));
        } catch (error) {
          if (!this.context.cancelled) this.#late.add(error, items);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  protected override async flush(): Promise<void> {
    this.#close();
    while (this.#pumping && !this.context.cancelled) await this.#running;
  }

  protected override takeLateErrors(): unknown[] {
    return this.#late.takeAll();
  }

  protected override onAbort(reason: unknown): void {
    this.#timer?.abort();
    for (const x of this.#current.splice(0)) disposeItem(x);
    for (const w of this.#closedWindows.splice(0)) disposeItem(w);
    this.#intake.rejectAll(reason);
    this.#progress.rejectAll(reason);
  }
}

/**
 * Keeps every item until `flushCollected()` is called (by hand, or as a sink
 * of another stream), then emits them as one list and starts over. end()
 * emits what is left.
 */
export class CollectNode extends Node {
  readonly #pack: Pack;
  readonly #gate = new SerialGate();
  #items: unknown[] = [];

  constructor(upstream: Node, pack: Pack = asList) {
    super('collect', [upstream]);
    this.#pack = pack;
  }

  /** Items collected so far. */
  get size(): number {
    return this.#items.length;
  }

  protected accept(x: unknown): Maybe {
    this.#items.push(x);
  }

  /** Emit the collected items as one list (an empty list if there are none); resolves when it is taken. */
  flushCollected(): Promise<void> {
    if (this.context.cancelled) return Promise.reject(this.context.reason);
    try {
      return Promise.resolve(
        this.track(
          this.#gate.run(() => {
            const items = this.#items;
            this.#items = [];
            return this.push(this.#pack(items));
          }),
        ),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  protected override flush(): Maybe {
    if (this.#items.length > 0) return this.flushCollected();
  }

  protected override onAbort(reason: unknown): void {
    for (const x of this.#items.splice(0)) disposeItem(x);
    this.#gate.rejectAll(reason);
  }
}
