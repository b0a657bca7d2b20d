// Nodes that produce items on their own: from an iterable, an interval, a
// channel, an SSE stream, a queue.
import type { EventSourceMessage } from 'eventsource-parser';
import type { Client } from '../../client/client.ts';
import { openEventStream } from '../../client/event-stream.ts';
import type { FetchLike } from '../../client/http.ts';
import type { GraphContext } from '../context.ts';
import { combineErrors } from '../errors.ts';
import { abortable, Waiters } from '../gate.ts';
import { Node, type Maybe } from '../node.ts';
import { type ErrorOptions, FailureHandler } from '../policy.ts';
import { RemoteItem } from '../remote-item.ts';

/** Why a producer stops when end() is called: not an error. */
const STOPPED = Symbol('sluice.stream.stopped');

/**
 * A node that produces items itself. Nothing flows before `start()`, so a
 * pipeline can be built first. Each item is emitted with backpressure (the
 * next one is not read before this one is taken). An error that comes back
 * from the pipeline goes to the source's error policy: by default it stops
 * the source, lets what was already taken finish, and rejects `start()`'s
 * promise — nothing is lost silently, and a resumable source (a channel) can
 * start again from where it stopped.
 */
export abstract class SourceNode extends Node {
  readonly failures: FailureHandler;
  readonly #stop = new AbortController();
  #run: Promise<void> | undefined;

  constructor(operator: string, context: GraphContext | undefined, options: ErrorOptions = {}) {
    super(operator, [], context);
    this.failures = new FailureHandler(operator, options);
  }

  /** Aborted by end() (stop producing) and by cancel(). */
  protected get stopSignal(): AbortSignal {
    return AbortSignal.any([this.#stop.signal, this.context.signal]);
  }

  /** Produce items with deliver() until there are none, or stopSignal aborts. */
  protected abstract produce(signal: AbortSignal): Promise<void>;

  protected accept(x: unknown): Maybe {
    return this.push(x);
  }

  /** Start producing. Resolves when the source is exhausted (or ended) and the pipeline has finished. */
  start(): Promise<void> {
    this.#run ??= this.#produceThenFinish();
    return this.#run;
  }

  get started(): boolean {
    return this.#run !== undefined;
  }

  /** Stop producing, then finish the pipeline (windows flush, buffers drain). */
  override end(): Promise<void> {
    this.#stop.abort(STOPPED);
    return this.#run ?? this.finish();
  }

  async #produceThenFinish(): Promise<void> {
    const errors: unknown[] = [];
    try {
      await this.produce(this.stopSignal);
    } catch (error) {
      if (error !== STOPPED && !this.context.cancelled) errors.push(error);
    }
    try {
      await this.finish();
    } catch (error) {
      errors.push(error);
    }
    if (this.context.cancelled) throw this.context.reason;
    if (errors.length > 0) throw combineErrors(errors, `${this.operator} stopped with errors`);
  }

  /** Emit one item into the pipeline; a failure goes through the error policy ('propagate' rethrows, which stops the source). */
  protected async deliver(x: unknown): Promise<void> {
    try {
      await this.emit(x);
    } catch (error) {
      if (this.context.cancelled) throw this.context.reason;
      await this.failures.fail(error, x instanceof RemoteItem ? x.keys : x);
    }
  }
}

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

export interface ChannelSourceOptions extends ErrorOptions {
  /** The first sequence number to read (default: the oldest entry still in the channel). */
  from?: number;
}

/**
 * The futures of a channel, in the channel's order, from `from` on; then
 * the new ones as they are appended, until the channel is stopped. Reading
 * resumes by itself across dropped connections and scheduler restarts
 * (Channel.entries). `lastSeq` is the sequence number of the last entry the
 * pipeline took: start a new source at lastSeq + 1 to go on after a stop.
 */
export class ChannelSource extends SourceNode {
  readonly #client: Client;
  readonly #name: string;
  readonly #from: number | undefined;
  lastSeq: number | undefined;

  constructor(client: Client, name: string, context: GraphContext | undefined, options: ChannelSourceOptions = {}) {
    super(`fromChannel('${name}')`, context, options);
    this.#client = client;
    this.#name = name;
    this.#from = options.from;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const channel = this.#client.channel(this.#name);
    const entries = channel.entries(this.#from === undefined ? {} : { from: this.#from });
    try {
      for (;;) {
        const step = await abortable(entries.next(), signal);
        if (step.done) return;
        const { seq, future } = step.value;
        if (signal.aborted) {
          future.release();
          return;
        }
        await this.deliver(new RemoteItem(future));
        this.lastSeq = seq;
        if (signal.aborted) return;
      }
    } finally {
      await entries.return?.();
      channel.close();
    }
  }
}

/** One Server-Sent Event: its `event` name (undefined for the default 'message'), `data` and `id`. */
export interface ServerSentEvent {
  event: string | undefined;
  data: string;
  id: string | undefined;
}

export interface EventSourceOptions extends ErrorOptions {
  /** Only these event names (the default event is 'message'). Default: every event. */
  events?: readonly string[];
  headers?: Record<string, string>;
  fetch?: FetchLike;
  /** Resume after this id (sent as Last-Event-ID). */
  lastEventId?: string;
  /** Reconnection backoff, first and longest (ms). */
  minDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * The events of an SSE endpoint. The client's openEventStream reads them
 * over fetch and reconnects with Last-Event-ID when the connection drops, so
 * no event is missed or repeated across a reconnection (given a server that
 * honours Last-Event-ID, as sluice's does). Reading pauses while the
 * pipeline has not taken the events already read (backpressure). A refusal
 * (a 4xx answer) stops the source with that error.
 */
export class EventSourceSource extends SourceNode {
  readonly #url: string;
  readonly #options: EventSourceOptions;
  /** The id of the last event the pipeline took. */
  lastEventId: string | undefined;

  constructor(url: string, context: GraphContext | undefined, options: EventSourceOptions = {}) {
    super(`fromEventSource('${url}')`, context, options);
    this.#url = url;
    this.#options = options;
    this.lastEventId = options.lastEventId;
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    const queue: ServerSentEvent[] = [];
    const arrived = new Waiters();
    const drained = new Waiters();
    let fatal: { error: unknown } | undefined;
    const wanted = this.#options.events ? new Set(this.#options.events) : undefined;
    const stream = openEventStream({
      url: this.#url,
      fetch: this.#options.fetch ?? globalThis.fetch.bind(globalThis),
      headers: this.#options.headers,
      lastEventId: this.#options.lastEventId,
      minDelayMs: this.#options.minDelayMs,
      maxDelayMs: this.#options.maxDelayMs,
      onEvent: (message: EventSourceMessage) => {
        if (wanted && !wanted.has(message.event ?? 'message')) return;
        queue.push({ event: message.event, data: message.data, id: message.id });
        arrived.wakeAll();
      },
      onFatal: (error) => {
        fatal = { error };
        arrived.wakeAll();
      },
      pause: () => (queue.length > 0 ? drained.wait() : undefined),
    });
    const stop = (): void => arrived.wakeAll();
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (;;) {
        while (queue.length > 0) {
          const event = queue.shift() as ServerSentEvent;
          await this.deliver(event);
          if (event.id !== undefined) this.lastEventId = event.id;
          if (signal.aborted) return;
        }
        drained.wakeAll();
        if (fatal) throw fatal.error;
        if (signal.aborted) return;
        await arrived.wait();
      }
    } finally {
      signal.removeEventListener('abort', stop);
      stream.close();
      drained.wakeAll();
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

/** Deliver each item of an async iterable. Not `for await`: a pending next() must give way to end() and cancel(). */
async function readAsync(items: AsyncIterable<unknown>, signal: AbortSignal, deliver: (x: unknown) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await abortable(iterator.next(), signal);
      if (step.done) return;
      await deliver(step.value);
      if (signal.aborted) return;
    }
  } finally {
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
