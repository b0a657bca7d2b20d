// Operators that group items into lists: partition, slidingWindow,
// timedWindow and collect.
import { SerialGate, Waiters } from '../gate.ts';
import { disposeItem } from '../item.ts';
import { failMeta, type Held, type Meta, releaseMeta, retainMeta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import { LateErrors } from './late-errors.ts';

/** Turns a list of items into the item emitted (identity on local streams; one list-of-futures item on cluster streams). */
export type Pack = (items: unknown[]) => unknown;
const asList: Pack = (items) => items;

const values = (held: readonly Held[]): unknown[] => held.map((h) => h.x);

/** Let go of held items nobody will use: dropped by design (done with), or failed with `reason` (cancelled). */
function dropHeld(held: Iterable<Held>, reason?: { error: unknown }): void {
  for (const { x, meta } of held) {
    disposeItem(x);
    if (reason) failMeta(meta, reason.error);
    else releaseMeta(meta);
  }
}

function checkCount(operator: string, n: number): void {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`${operator}: n must be a positive integer, got ${n}`);
}

/** What makes items belong together: a function of the item, or a property (or index) of it. */
export type KeyOption<T> = ((x: T) => unknown) | PropertyKey;

export function keyFunction<T>(operator: string, key: KeyOption<T> | undefined): ((x: unknown) => unknown) | undefined {
  if (key === undefined) return undefined;
  if (typeof key === 'function') return key as (x: unknown) => unknown;
  if (typeof key === 'string' || typeof key === 'number' || typeof key === 'symbol') return (x) => (x as Record<PropertyKey, unknown>)[key];
  throw new TypeError(`${operator}: key must be a function or a property name, got ${typeof key}`);
}

export interface PartitionOptions<T = unknown> {
  /** Emit a partial list when this long has passed since its first item arrived (streamz's timeout, in ms). */
  timeoutMs?: number;
  /**
   * Items with the same key are listed together, each key in lists of its
   * own: key(x) for a function, x[key] otherwise (streamz's key).
   */
  key?: KeyOption<T>;
}

interface OpenList {
  items: Held[];
  timer: AbortController | undefined;
}

/**
 * Lists of n items, in order. The emit of the n-th item returns when the
 * list has been taken. With `key`, each key fills lists of its own. With
 * `timeoutMs`, a list that has waited that long since its first item goes
 * out partial; end() emits the partial lists left (in the order their
 * first items came).
 */
export class PartitionNode extends Node {
  readonly #n: number;
  readonly #timeoutMs: number | undefined;
  readonly #key: ((x: unknown) => unknown) | undefined;
  readonly #pack: Pack;
  readonly #gate = new SerialGate();
  readonly #late: LateErrors;
  readonly #lists = new Map<unknown, OpenList>();

  constructor(upstream: Node, n: number, options: PartitionOptions = {}, pack: Pack = asList) {
    checkCount('partition', n);
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`partition: timeoutMs must be > 0, got ${timeoutMs}`);
    const key = keyFunction('partition', options.key);
    super(timeoutMs === undefined ? `partition(${n})` : `partition(${n}, ${timeoutMs} ms)`, [upstream]);
    this.#n = n;
    this.#timeoutMs = timeoutMs;
    this.#key = key;
    this.#pack = pack;
    this.#late = new LateErrors(this.operator);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#gate.run(() => {
      const key = this.#key?.(x);
      let list = this.#lists.get(key);
      if (!list) this.#lists.set(key, (list = { items: [], timer: undefined }));
      retainMeta(meta); // held here until its list is handed on
      list.items.push({ x, meta });
      if (list.items.length >= this.#n) return this.#emitList(key);
      if (list.items.length === 1 && this.#timeoutMs !== undefined) this.#arm(key, list, this.#timeoutMs);
      this.#late.throwFirst();
    }, x);
  }

  #emitList(key: unknown): Maybe {
    const list = this.#lists.get(key);
    if (!list) return;
    list.timer?.abort();
    this.#lists.delete(key);
    return this.pushCombined(this.#pack(values(list.items)), list.items);
  }

  #arm(key: unknown, list: OpenList, ms: number): void {
    const timer = new AbortController();
    list.timer = timer;
    this.context.clock.sleep(ms, AbortSignal.any([timer.signal, this.context.signal])).then(
      () => {
        // The timeout's list goes out through the gate, after any emit in progress, and counts as work in flight for end().
        const failed = (error: unknown): void => {
          if (!this.context.cancelled) this.#late.add(error, 'a partial list');
        };
        try {
          this.track(
            this.#gate.run(() => {
              if (this.#lists.get(key) !== list || list.timer !== timer) return;
              return this.#emitList(key);
            }),
          )?.catch(failed);
        } catch (error) {
          failed(error);
        }
      },
      () => undefined, // the list filled up first, or the pipeline was cancelled
    );
  }

  protected override async flush(): Promise<void> {
    for (const key of [...this.#lists.keys()]) await this.#emitList(key);
  }

  protected override takeLateErrors(): unknown[] {
    return this.#late.takeAll();
  }

  protected override onAbort(reason: unknown): void {
    for (const list of this.#lists.values()) {
      list.timer?.abort();
      dropHeld(list.items, { error: reason });
    }
    this.#lists.clear();
    this.#gate.rejectAll(reason);
  }
}

export interface UniqueWindowOptions<T = unknown> {
  /** What makes two items the same: key(x) for a function, x[key] otherwise. Default: the item itself (compared as a Map key). */
  key?: KeyOption<T>;
  /** Of items with the same key, keep the first (default) or the last; the list keeps the items' order of arrival. */
  keep?: 'first' | 'last';
}

/** Items with distinct keys, in arrival order; a repeated key keeps the first or the last of its items. */
class UniqueList {
  readonly #key: (x: unknown) => unknown;
  readonly #keepLast: boolean;
  #items = new Map<unknown, Held>();

  constructor(operator: string, options: UniqueWindowOptions) {
    this.#key = keyFunction(operator, options.key) ?? ((x) => x);
    if (options.keep !== undefined && options.keep !== 'first' && options.keep !== 'last') throw new RangeError(`${operator}: keep must be 'first' or 'last', got ${String(options.keep)}`);
    this.#keepLast = options.keep === 'last';
  }

  get size(): number {
    return this.#items.size;
  }

  /** Add an item; answers the item dropped for it (itself, or the one it replaced), if any. */
  add(item: Held): Held | undefined {
    const key = this.#key(item.x);
    const old = this.#items.get(key);
    if (!old) {
      this.#items.set(key, item);
      return undefined;
    }
    if (!this.#keepLast) return item;
    this.#items.delete(key); // re-inserted at the end: the list follows the order of arrival of the items kept
    this.#items.set(key, item);
    return old;
  }

  take(): Held[] {
    const items = [...this.#items.values()];
    this.#items = new Map();
    return items;
  }
}

/**
 * Lists of n items with distinct keys (streamz's partition_unique): an item
 * whose key is already in the list is dropped (keep 'first'), or replaces
 * the earlier one (keep 'last'); the list goes out once it holds n keys.
 * end() emits the partial list left.
 */
export class PartitionUniqueNode extends Node {
  readonly #n: number;
  readonly #list: UniqueList;

  constructor(upstream: Node, n: number, options: UniqueWindowOptions = {}) {
    checkCount('partitionUnique', n);
    const list = new UniqueList('partitionUnique', options);
    super(`partitionUnique(${n})`, [upstream]);
    this.#n = n;
    this.#list = list;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    retainMeta(meta);
    const dropped = this.#list.add({ x, meta });
    if (dropped) dropHeld([dropped]); // a repeated key: done with
    if (this.#list.size >= this.#n) return this.#emitList();
  }

  protected override flush(): Maybe {
    if (this.#list.size > 0) return this.#emitList();
  }

  #emitList(): Maybe {
    const items = this.#list.take();
    return this.pushCombined(values(items), items);
  }

  protected override onAbort(reason: unknown): void {
    dropHeld(this.#list.take(), { error: reason });
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
  /** The last n - 1 items (n once one arrives, until it has been emitted). */
  readonly #window: Held[] = [];

  constructor(upstream: Node, n: number, options: SlidingWindowOptions = {}) {
    checkCount('slidingWindow', n);
    super(`slidingWindow(${n})`, [upstream]);
    this.#n = n;
    this.#partial = options.partial ?? false;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    const window = this.#window;
    retainMeta(meta); // held while in the window
    window.push({ x, meta });
    let sent: Maybe = undefined;
    if (window.length === this.#n || this.#partial) {
      // pushCombined lets go of the window's holds; the window keeps its own, so take them again.
      for (const h of window) retainMeta(h.meta);
      sent = this.pushCombined(values(window), window.slice());
    }
    // The oldest leaves once the full window it was in has gone out.
    if (window.length === this.#n) releaseMeta((window.shift() as Held).meta);
    return sent;
  }

  /** The items still in the window have been in every window they will be in. */
  protected override flush(): void {
    for (const { meta } of this.#window.splice(0)) releaseMeta(meta);
  }

  protected override onAbort(reason: unknown): void {
    for (const { meta } of this.#window.splice(0)) failMeta(meta, reason);
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
  #current: Held[] = [];
  readonly #closedWindows: Held[][] = [];
  #timer: AbortController | undefined;
  #pumping = false;
  #running: Promise<void> = Promise.resolve();

  /** timedWindowUnique: the window keeps one item per key. */
  readonly #unique: UniqueList | undefined;

  constructor(upstream: Node, ms: number, pack: Pack = asList, unique?: UniqueWindowOptions) {
    const operator = unique ? 'timedWindowUnique' : 'timedWindow';
    if (!(Number.isFinite(ms) && ms > 0)) throw new RangeError(`${operator}: the interval must be > 0 ms, got ${ms}`);
    const list = unique && new UniqueList(operator, unique);
    super(`${operator}(${ms})`, [upstream]);
    this.#ms = ms;
    this.#pack = pack;
    this.#unique = list;
    this.#origin = this.context.clock.now();
    this.#late = new LateErrors(this.operator);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.#intake.run(() => this.#admit(x, meta), x);
  }

  #admit(x: unknown, meta: Meta): Maybe {
    if (this.#closedWindows.length > 0) {
      return this.#progress.wait().then(
        () => this.#admit(x, meta),
        (error: unknown) => {
          disposeItem(x);
          throw error;
        },
      );
    }
    retainMeta(meta); // held until its window is handed on
    if (this.#unique) {
      const dropped = this.#unique.add({ x, meta });
      if (dropped) dropHeld([dropped]); // a repeated key: done with
    } else {
      this.#current.push({ x, meta });
    }
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
    if (this.#unique) this.#current = this.#unique.take();
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
        const items = this.#closedWindows.shift() as Held[];
        this.#progress.wakeAll();
        try {
          await this.pushCombined(this.#pack(values(items)), items);
        } catch (error) {
          if (!this.context.cancelled) this.#late.add(error, items.map((h) => h.x));
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
    dropHeld(this.#current.splice(0), { error: reason });
    dropHeld(this.#unique?.take() ?? [], { error: reason });
    for (const w of this.#closedWindows.splice(0)) dropHeld(w, { error: reason });
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
  #items: Held[] = [];

  constructor(upstream: Node, pack: Pack = asList) {
    super('collect', [upstream]);
    this.#pack = pack;
  }

  /** Items collected so far. */
  get size(): number {
    return this.#items.length;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    retainMeta(meta); // held until flushed
    this.#items.push({ x, meta });
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
            return this.pushCombined(this.#pack(values(items)), items);
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
    dropHeld(this.#items.splice(0), { error: reason });
    this.#gate.rejectAll(reason);
  }
}
