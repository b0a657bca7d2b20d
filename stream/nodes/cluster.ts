// The operators that move work onto the cluster and back: scatter, map (a
// task per item), gather; and the sinks into channels.
import type { Client, SubmitOptions } from '../../client/client.ts';
import type { Channel, ChannelOptions } from '../../client/channel.ts';
import { Future } from '../../client/future.ts';
import { abortable, SerialGate } from '../gate.ts';
import { kDispose, kShare } from '../item.ts';
import type { Meta } from '../metadata.ts';
import { Node, type Maybe } from '../node.ts';
import { type ErrorOptions, FailureHandler } from '../policy.ts';
import { RemoteItem } from '../remote-item.ts';

/** A node with a gate (one item at a time, in order) and an error policy. */
export abstract class ClusterNode extends Node {
  protected readonly gate = new SerialGate();
  readonly failures: FailureHandler;

  constructor(operator: string, upstream: Node, options: ErrorOptions = {}) {
    super(operator, [upstream]);
    this.failures = new FailureHandler(operator, options);
  }

  protected failed(error: unknown, item: unknown, meta: Meta): Maybe {
    if (this.context.cancelled) throw this.context.reason;
    return this.failures.fail(error, item, meta);
  }

  protected override onAbort(reason: unknown): void {
    this.gate.rejectAll(reason);
  }
}

export interface ClusterMapOptions extends ErrorOptions, Omit<SubmitOptions, 'key' | 'pure'> {
  /** More arguments after the item: fn(item, ...args). */
  args?: unknown[];
  /**
   * Default false, unlike client.submit: the items of a stream are events,
   * and two equal events are two tasks (a task with side effects must run
   * for each). true shares one task among equal items, as Dask's pure tasks do.
   */
  pure?: boolean;
}

/**
 * Submits fn(item, ...args) for each item and emits the new future at once:
 * the task runs on the cluster while the pipeline goes on. The item's future
 * is the task's argument (a dependency: the scheduler holds it for the task),
 * so its hold here is let go.
 */
export class ClusterMapNode extends Node {
  readonly #client: Client;
  readonly #fn: string;
  readonly #args: unknown[];
  readonly #submit: SubmitOptions;
  readonly failures: FailureHandler;

  constructor(upstream: Node, client: Client, fn: string, options: ClusterMapOptions = {}) {
    super(`map('${fn}')`, [upstream]);
    const { args = [], onError, report, pure = false, ...submit } = options;
    this.#client = client;
    this.#fn = fn;
    this.#args = args;
    this.#submit = { ...submit, pure };
    this.failures = new FailureHandler(this.operator, { onError, report });
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    const item = x as RemoteItem;
    let future: Future;
    try {
      future = this.#client.submit(this.#fn, [item.ref, ...this.#args], this.#submit);
    } catch (error) {
      releaseItem(item);
      if (this.context.cancelled) throw this.context.reason;
      return this.failures.fail(error, item.keys, meta);
    }
    // The submission is queued before this release in the client's outbox, so the task holds its argument first.
    releaseItem(item);
    return this.push(new RemoteItem(future), meta);
  }
}

/**
 * Waits for each item's result and emits it, in input order (one item at a
 * time: a later future that finishes first waits its turn). A failed task
 * goes to the error policy with its key.
 */
export class GatherNode extends ClusterNode {
  constructor(upstream: Node, options?: ErrorOptions) {
    super('gather', upstream, options);
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    const item = x as RemoteItem;
    return this.gate.run(
      () =>
        abortable(item.value(), this.context.signal).then(
          (value) => {
            releaseItem(item);
            return this.push(value, meta);
          },
          (error: unknown) => {
            releaseItem(item);
            return this.failed(error, item.keys, meta);
          },
        ),
      item,
    );
  }
}

/**
 * Appends each item to a channel. On a local stream the value is scattered
 * first; on a cluster stream the item's future is appended as it is (no
 * round trip through this process). The emit returns once the append is
 * acknowledged, so what a pipeline has taken is durable.
 */
export class ChannelSinkNode extends ClusterNode {
  readonly #client: Client;
  readonly #channel: Channel;
  readonly #remote: boolean;

  constructor(upstream: Node, client: Client, name: string, options: ChannelOptions & ErrorOptions & { remote: boolean }) {
    super(`sinkToChannel('${name}')`, upstream, options);
    this.#client = client;
    this.#channel = client.channel(name, options.maxlen === undefined ? {} : { maxlen: options.maxlen });
    this.#remote = options.remote;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.gate.run(() => abortable(this.#append(x), this.context.signal).catch((error: unknown) => this.failed(error, x instanceof RemoteItem ? x.keys : x, meta)), x);
  }

  async #append(x: unknown): Promise<void> {
    let future: Future;
    if (this.#remote) {
      const item = x as RemoteItem;
      if (!(item.ref instanceof Future)) {
        releaseItem(item);
        throw new TypeError(`sinkToChannel appends one future per item, and this item is a list of ${item.ref.length}: map it to a task first`);
      }
      future = item.ref;
    } else {
      [future] = await this.#client.scatter([x]);
    }
    this.#channel.append(future);
    future.release(); // queued after the append: the channel holds it by then
    await this.#channel.flush();
  }

  protected override async flush(): Promise<void> {
    await this.#channel.flush();
    this.#channel.close();
  }
}

export function releaseItem(item: RemoteItem): void {
  item[kDispose]();
}

export interface ClusterScanOptions extends ClusterMapOptions {
  /** The first state (a JSON value). Without it, the first item is the state, and is emitted as it is (streamz). */
  start?: unknown;
  /**
   * fn returns [nextState, valueToEmit]. The pair comes back to this process
   * to be split, and its halves are scattered again: one round trip per item
   * (without it, the state never leaves the cluster).
   */
  returnsState?: boolean;
  /** Emit [state, value] (one item of two futures) rather than the value alone (streamz's with_state). */
  withState?: boolean;
}

/**
 * A running reduction on the cluster (streamz's dask accumulate): for each
 * item, submit fn(state, item, ...args); the task's future is the new state,
 * and is emitted. The state stays on the cluster: each task depends on the
 * previous one's future, and runs once it has finished. One item at a time,
 * in order. This node holds the current state's future until it ends.
 */
export class ClusterScanNode extends ClusterNode {
  readonly #client: Client;
  readonly #fn: string;
  readonly #args: unknown[];
  readonly #submit: SubmitOptions;
  readonly #returnsState: boolean;
  readonly #withState: boolean;
  /** The state: a future held here (a RemoteItem), a JSON start value, or nothing yet. */
  #state: { item: RemoteItem } | { value: unknown } | undefined;

  constructor(upstream: Node, client: Client, fn: string, options: ClusterScanOptions = {}) {
    const { args = [], onError, report, pure = false, start, returnsState = false, withState = false, ...submit } = options;
    super(`scan('${fn}')`, upstream, { onError, report });
    this.#client = client;
    this.#fn = fn;
    this.#args = args;
    this.#submit = { ...submit, pure };
    this.#returnsState = returnsState;
    this.#withState = withState;
    this.#state = 'start' in options ? { value: start } : undefined;
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    return this.gate.run(() => this.#step(x as RemoteItem, meta), x);
  }

  #step(item: RemoteItem, meta: Meta): Maybe {
    const state = this.#state;
    if (!state) {
      this.#state = { item: item[kShare]() };
      return this.#emit(item, meta);
    }
    let result: Future;
    try {
      result = this.#client.submit(this.#fn, ['item' in state ? state.item.ref : state.value, item.ref, ...this.#args], this.#submit);
    } catch (error) {
      releaseItem(item);
      return this.failed(error, item.keys, meta);
    }
    // Queued after the submission: the task holds its arguments first.
    releaseItem(item);
    if (!this.#returnsState) {
      this.#setState(new RemoteItem(result));
      return this.#emit(new RemoteItem(new Future(result.key, result.client)), meta);
    }
    return abortable(this.#split(result), this.context.signal).then(
      ([next, value]) => {
        this.#setState(next);
        return this.#emit(value, meta);
      },
      (error: unknown) => this.failed(error, [result.key], meta),
    );
  }

  /** fn returned [state, value]: bring the pair back, scatter its halves. */
  async #split(pair: Future): Promise<[RemoteItem, RemoteItem]> {
    try {
      const result = await pair.result();
      if (!Array.isArray(result) || result.length !== 2) throw new TypeError(`scan('${this.#fn}') with returnsState: the task must return [state, value], got ${JSON.stringify(result)}`);
      const [state, value] = await this.#client.scatter(result);
      return [new RemoteItem(state), new RemoteItem(value)];
    } finally {
      pair.release();
    }
  }

  #setState(next: RemoteItem): void {
    const old = this.#state;
    this.#state = { item: next };
    if (old && 'item' in old) releaseItem(old.item);
  }

  /** Emit the value, or [state, value] with withState (the state shared: this node keeps its own hold). */
  #emit(value: RemoteItem, meta: Meta): Maybe {
    if (!this.#withState) return this.push(value, meta);
    const state = (this.#state as { item: RemoteItem }).item[kShare]();
    return this.push(RemoteItem.pack([state, value]), meta);
  }

  protected override flush(): void {
    this.#dropState();
  }

  protected override onAbort(reason: unknown): void {
    super.onAbort(reason);
    this.#dropState();
  }

  #dropState(): void {
    const state = this.#state;
    this.#state = undefined;
    if (state && 'item' in state) releaseItem(state.item);
  }
}

/**
 * fn(...item, ...args) for each item (streamz's dask starmap). An item that
 * is a list of futures (from zip or partition) is spread as they are, each a
 * dependency of the task; a single future's value (a list) is brought back
 * first and spread as values. The task's future is emitted.
 */
export class ClusterStarmapNode extends ClusterNode {
  readonly #client: Client;
  readonly #fn: string;
  readonly #args: unknown[];
  readonly #submit: SubmitOptions;

  constructor(upstream: Node, client: Client, fn: string, options: ClusterMapOptions = {}) {
    const { args = [], onError, report, pure = false, ...submit } = options;
    super(`starmap('${fn}')`, upstream, { onError, report });
    this.#client = client;
    this.#fn = fn;
    this.#args = args;
    this.#submit = { ...submit, pure };
  }

  protected accept(x: unknown, _from: Node | undefined, meta: Meta): Maybe {
    const item = x as RemoteItem;
    return this.gate.run(() => {
      if (Array.isArray(item.ref)) return this.#submitWith(item, item.ref, meta);
      return abortable(item.value(), this.context.signal).then(
        (value) => {
          if (!Array.isArray(value)) {
            releaseItem(item);
            return this.failed(new TypeError(`starmap('${this.#fn}'): the item's value is not a list of arguments: ${JSON.stringify(value)}`), item.keys, meta);
          }
          return this.#submitWith(item, value, meta);
        },
        (error: unknown) => {
          releaseItem(item);
          return this.failed(error, item.keys, meta);
        },
      );
    }, item);
  }

  #submitWith(item: RemoteItem, spread: readonly unknown[], meta: Meta): Maybe {
    let future: Future;
    try {
      future = this.#client.submit(this.#fn, [...spread, ...this.#args], this.#submit);
    } catch (error) {
      releaseItem(item);
      return this.failed(error, item.keys, meta);
    }
    releaseItem(item); // queued after the submission: the task holds its arguments first
    return this.push(new RemoteItem(future), meta);
  }
}
