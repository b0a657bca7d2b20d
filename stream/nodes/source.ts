// The base of every source: a node that produces items itself.
import type { GraphContext } from '../context.ts';
import { combineErrors } from '../errors.ts';
import { abortable } from '../gate.ts';
import { failMeta, type Meta, releaseMeta, retainMeta } from '../metadata.ts';
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

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.push(x, meta);
  }

  /** Start producing. Resolves when the source is exhausted (or ended) and the pipeline has finished. */
  start(): Promise<void> {
    this.#run ??= this.#produceThenFinish();
    return this.#run;
  }

  protected override startSelf(): Promise<void> {
    return this.start();
  }

  get started(): boolean {
    return this.#run !== undefined;
  }

  /** Stop producing, then finish the pipeline (windows flush, buffers drain). */
  override end(): Promise<void> {
    this.#stop.abort(STOPPED);
    return this.#run ?? this.finish();
  }

  /** After the pipeline has finished: acknowledge what is done with (a channel's position, queue acks). */
  protected async settle(): Promise<void> {}

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
    try {
      await this.settle();
    } catch (error) {
      if (!this.context.cancelled) errors.push(error);
    }
    if (this.context.cancelled) throw this.context.reason;
    if (errors.length > 0) throw combineErrors(errors, `${this.operator} stopped with errors`);
  }

  /**
   * Emit one item (with its metadata) into the pipeline; a failure goes
   * through the error policy ('propagate' rethrows, which stops the source).
   */
  protected async deliver(x: unknown, meta?: Meta): Promise<void> {
    if (meta === undefined) {
      try {
        await this.emit(x);
      } catch (error) {
        if (this.context.cancelled) throw this.context.reason;
        await this.failures.fail(error, x instanceof RemoteItem ? x.keys : x);
      }
      return;
    }
    // The source holds the item until the pipeline and its own error policy are done with it: a failure
    // that policy handles (skip, an error branch) is not a failure of the item.
    retainMeta(meta);
    try {
      await this.emitUnheld(x, meta);
    } catch (error) {
      try {
        if (this.context.cancelled) throw this.context.reason;
        await this.failures.fail(error, x instanceof RemoteItem ? x.keys : x, meta);
      } catch (failure) {
        failMeta(meta, failure);
        throw failure;
      }
    }
    releaseMeta(meta);
  }
}

/** Deliver each item of an async iterable. Not `for await`: a pending next() must give way to end() and cancel(). */
export async function readAsync(items: AsyncIterable<unknown>, signal: AbortSignal, deliver: (x: unknown) => Promise<void>): Promise<void> {
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
