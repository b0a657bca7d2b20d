// Sources in this process: an iterable, an interval, a queue.
import type { GraphContext } from '../context.ts';
import { abortable } from '../gate.ts';
import type { ErrorOptions } from '../policy.ts';
import { readAsync, SourceNode } from './source.ts';

/** Items of an array, iterable or async iterable, in order. */
export class IterableSource extends SourceNode {
  readonly #items: Iterable<unknown> | AsyncIterable<unknown>;

  constructor(items: Iterable<unknown> | AsyncIterable<unknown>, context: GraphContext | undefined, options?: ErrorOptions) {
    super('fromIterable', context, options);
    this.#items = items;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const items = this.#items;
    if (Symbol.asyncIterator in items) {
      await readAsync(items, signal, (x) => this.deliver(x));
      return;
    }
    // Not `for await` either on a sync iterable: it would await each value, and a Future is a thenable.
    for (const x of items as Iterable<unknown>) {
      if (signal.aborted) return;
      await this.deliver(x);
    }
  }
}

export interface IntervalOptions extends ErrorOptions {
  /** Stop after this many items. Default: never. */
  count?: number;
}

/**
 * 0, 1, 2, ... one every `ms`, the first `ms` after start(). When the
 * pipeline takes longer than `ms` to take an item, the next one follows at
 * once and the schedule starts again from there: ticks are not bunched up
 * to catch up.
 */
export class IntervalSource extends SourceNode {
  readonly #ms: number;
  readonly #count: number;

  constructor(ms: number, context: GraphContext | undefined, options: IntervalOptions = {}) {
    if (!(Number.isFinite(ms) && ms > 0)) throw new RangeError(`fromInterval: the interval must be > 0 ms, got ${ms}`);
    super(`fromInterval(${ms})`, context, options);
    this.#ms = ms;
    this.#count = options.count ?? Number.POSITIVE_INFINITY;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const { clock } = this.context;
    let due = clock.now() + this.#ms;
    for (let i = 0; i < this.#count; i++) {
      await clock.sleep(due - clock.now(), signal);
      await this.deliver(i);
      if (signal.aborted) return;
      due = Math.max(due + this.#ms, clock.now());
    }
  }
}

/**
 * What fromQueue reads: anything with an async `get` (Dask's Queue.get: the
 * next item, waiting while the queue is empty), or an async iterable. sluice's
 * own queues (POST /queues/:name/get) fit it through a small adapter; the
 * interface is structural so that any queue can be used.
 */
export interface QueueLike<T> {
  /**
   * The next item, waiting while the queue is empty. The source passes a
   * signal that aborts when the pipeline ends or is cancelled; an
   * implementation should give up its wait then (the source stops waiting
   * for it either way).
   */
  get(options?: { signal?: AbortSignal }): Promise<T>;
}

/** Items taken from a queue, one at a time, each after the previous one was taken by the pipeline. */
export class QueueSource extends SourceNode {
  readonly #queue: QueueLike<unknown> | AsyncIterable<unknown>;

  constructor(queue: QueueLike<unknown> | AsyncIterable<unknown>, context: GraphContext | undefined, options?: ErrorOptions) {
    super('fromQueue', context, options);
    this.#queue = queue;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const queue = this.#queue;
    if (!('get' in queue) || typeof queue.get !== 'function') {
      await readAsync(queue as AsyncIterable<unknown>, signal, (x) => this.deliver(x));
      return;
    }
    const getter = queue as QueueLike<unknown>;
    for (;;) {
      let item: unknown;
      try {
        item = await abortable(getter.get({ signal }), signal);
      } catch (error) {
        if (signal.aborted) return;
        throw error;
      }
      await this.deliver(item);
      if (signal.aborted) return;
    }
  }
}

