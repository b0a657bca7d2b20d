import type { ChannelOptions } from '../client/channel.ts';
import type { Client } from '../client/client.ts';
import { Future } from '../client/future.ts';
import { GraphContext } from './context.ts';
import type { Node } from './node.ts';
import { BufferNode } from './nodes/buffer.ts';
import { ChannelSinkNode, type ClusterMapOptions, ClusterMapNode, ClusterScanNode, type ClusterScanOptions, ClusterStarmapNode, GatherNode } from './nodes/cluster.ts';
import { ZipNode } from './nodes/combine.ts';
import type { ChannelSource } from './nodes/channel-source.ts';
import { DelayNode, RateLimitNode } from './nodes/timing.ts';
import { PassNode } from './nodes/transform.ts';
import { type PartitionOptions, PartitionNode, TimedWindowNode } from './nodes/windows.ts';
import type { ErrorOptions, FailureHandler } from './policy.ts';
import { RemoteItem } from './remote-item.ts';
import { type EmitOptions, Stream, type StreamOptions } from './stream.ts';
import { adopting, kNode, takeAdopted } from './wrap.ts';

/** Cluster streams given to zip, typed item by item. */
export type ClusterStreams<U extends unknown[]> = { [K in keyof U]: ClusterStream<U[K]> };

/**
 * A stream whose items live on the cluster: each item is a future for a
 * value of type T (streamz's DaskStream). It offers only what makes sense
 * for futures — running a task on each (`map('fn')`), bounding how many are
 * in flight (`buffer`), timing (`rateLimit`, `delay`), grouping futures into
 * one task argument (`partition`, `timedWindow`, `zip`), `union`, appending
 * to a channel — and `gather()` to bring values back into a local Stream,
 * where everything else is. A local function cannot be applied to a future
 * by mistake: the types do not allow it.
 *
 * Futures are held while they are in the pipeline and let go when done with:
 * a task holds its argument, gather lets go once it has the result, cancel()
 * lets go of everything (the scheduler then cancels tasks nobody wants).
 */
export class ClusterStream<T> {
  /** @internal */
  readonly [kNode]: Node;
  /** The client tasks are submitted through. */
  readonly client: Client;

  /** A cluster source to emit futures into. */
  constructor(client: Client, options: StreamOptions = {}) {
    this.client = client;
    this[kNode] = takeAdopted() ?? new PassNode('ClusterStream', [], new GraphContext(options));
  }

  get operator(): string {
    return this[kNode].operator;
  }

  /** How many items this operator dropped under onError 'skip'. */
  get skipped(): number {
    return (this[kNode] as { failures?: FailureHandler }).failures?.skipped ?? 0;
  }

  /** Push a future into the pipeline at this point (the pipeline holds it on its own; the caller keeps its Future). */
  emit(future: Future<T>, options?: EmitOptions): Promise<void> {
    return this[kNode].emit(new RemoteItem(new Future(future.key, future.client)), options?.metadata);
  }

  /** Start every source upstream of this point (streamz's start); resolves once they and the pipeline have finished. */
  start(): Promise<void> {
    return this[kNode].startSources();
  }

  /** No more items at this point; resolves once every future in flight has been gathered, appended or let go. */
  end(): Promise<void> {
    return this[kNode].end();
  }

  /** Stop the whole pipeline now; futures in flight are let go. */
  cancel(reason?: unknown): void {
    this[kNode].context.cancel(reason);
  }

  /**
   * Submit fn(item, ...args) for each item — fn is a task name workers
   * registered — and pass its future on at once. The item's future is the
   * task's argument: the task receives its value.
   */
  map<R = unknown>(fn: string, options?: ClusterMapOptions): ClusterStream<R> {
    return this.#derive(new ClusterMapNode(this[kNode], this.client, fn, options));
  }

  /**
   * fn(...item, ...args) for each item, a list of arguments (streamz's dask
   * starmap): an item made of several futures (zip, partition) gives them
   * as the arguments; a single future whose value is a list is read back
   * first and its values given.
   */
  starmap<R = unknown>(fn: string, options?: ClusterMapOptions): ClusterStream<R> {
    return this.#derive(new ClusterStarmapNode(this[kNode], this.client, fn, options));
  }

  /**
   * A running reduction on the cluster (streamz's dask accumulate): submit
   * fn(state, item, ...args) for each item; the task's future is the new
   * state and is emitted. The state never leaves the cluster (except with
   * `returnsState`, whose [state, value] pairs are brought back to be split).
   * Without `start`, the first item is the first state.
   */
  scan<R = T>(fn: string, options?: ClusterScanOptions): ClusterStream<R> {
    return this.#derive(new ClusterScanNode(this[kNode], this.client, fn, options));
  }

  /** streamz's name for scan. */
  accumulate<R = T>(fn: string, options?: ClusterScanOptions): ClusterStream<R> {
    return this.scan<R>(fn, options);
  }

  /** Keep up to n futures in flight (n counts the one being gathered): the cluster works on them while the pipeline goes on. */
  buffer(n: number): ClusterStream<T> {
    return this.#derive(new BufferNode(this[kNode], n));
  }

  /** Let a future through at most once per `ms`. */
  rateLimit(ms: number): ClusterStream<T> {
    return this.#derive(new RateLimitNode(this[kNode], ms));
  }

  /** Pass each future on `ms` later. */
  delay(ms: number): ClusterStream<T> {
    return this.#derive(new DelayNode(this[kNode], ms));
  }

  /** Lists of n futures as one item: `map('fn')` then gets the list of their values as its argument. */
  partition(n: number, options?: PartitionOptions): ClusterStream<T[]> {
    return this.#derive(new PartitionNode(this[kNode], n, options, RemoteItem.pack));
  }

  /** The futures of each `ms` interval as one list item. */
  timedWindow(ms: number): ClusterStream<T[]> {
    return this.#derive(new TimedWindowNode(this[kNode], ms, RemoteItem.pack));
  }

  /** Tuples of the i-th futures of this stream and the others, as one item (the same stream may be given twice). */
  zip<U extends unknown[]>(...others: ClusterStreams<U>): ClusterStream<[T, ...U]> {
    return this.#derive(new ZipNode([this[kNode], ...others.map((s) => s[kNode])], {}, [], RemoteItem.pack));
  }

  /** The futures of this stream and the others, as they come. */
  union<U>(...others: Array<ClusterStream<U>>): ClusterStream<T | U> {
    return this.#derive(new PassNode('union', [this[kNode], ...others.map((s) => s[kNode])]));
  }

  /** Bring each value back, in input order: a local Stream from here on. A failed task goes to the error policy. */
  gather(options?: ErrorOptions): Stream<T> {
    return adopting(new GatherNode(this[kNode], options), () => new Stream<T>());
  }

  /** Append each future to the channel `name` as it is (no round trip through this process); an emit returns once the append is acknowledged. */
  sinkToChannel(name: string, options?: ChannelOptions & ErrorOptions): Stream<never> {
    return adopting(new ChannelSinkNode(this[kNode], this.client, name, { ...options, remote: true }), () => new Stream<never>());
  }

  #derive<S>(node: Node): ClusterStream<S> {
    return adopting(node, () => new ClusterStream<S>(this.client));
  }
}

/** A cluster stream that reads a channel; nothing flows before start(). */
export class ClusterSourceStream<T> extends ClusterStream<T> {
  /** Start reading. Resolves once the channel is stopped (or end() was called) and the pipeline has finished. */
  override start(): Promise<void> {
    return (this[kNode] as ChannelSource).start();
  }

  /** Stop reading and finish the pipeline. */
  override end(): Promise<void> {
    return (this[kNode] as ChannelSource).end();
  }

  /** The sequence number of the last entry the pipeline took: resume with `{ from: lastSeq + 1 }`. */
  get lastSeq(): number | undefined {
    return (this[kNode] as ChannelSource).lastSeq;
  }

  /** With a `consumer`: its position the scheduler has acknowledged (every entry up to it is done with). */
  get committedSeq(): number | undefined {
    return (this[kNode] as ChannelSource).committedSeq;
  }
}
