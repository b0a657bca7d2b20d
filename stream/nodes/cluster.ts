// The operators that move work onto the cluster and back: scatter, map (a
// task per item), gather; and the sinks into channels.
import type { Client, SubmitOptions } from '../../client/client.ts';
import type { Channel, ChannelOptions } from '../../client/channel.ts';
import { Future } from '../../client/future.ts';
import { abortable, SerialGate } from '../gate.ts';
import { kDispose } from '../item.ts';
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
