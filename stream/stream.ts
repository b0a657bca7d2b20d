import type { Client } from '../client/client.ts';
import type { ChannelOptions } from '../client/channel.ts';
import type { Clock } from './clock.ts';
import { fileOperators } from './file-operators.ts';
import type { Metadata } from './metadata.ts';
import type { FilenamesOptions, SinkToFileOptions, TextFileOptions } from './nodes/files.ts';
import { ClusterSourceStream, ClusterStream } from './cluster-stream.ts';
import { GraphContext } from './context.ts';
import type { Node } from './node.ts';
import { BufferNode, LatestNode } from './nodes/buffer.ts';
import { ChannelSinkNode } from './nodes/cluster.ts';
import { BatchScatterNode, ScatterNode, type ScatterOptions } from './nodes/scatter.ts';
import { type CombineLatestOptions, CombineLatestNode, type ZipLiteral, ZipLatestNode, ZipNode, type ZipOptions } from './nodes/combine.ts';
import { type AckOptions, AckedQueueSource, type LeasingQueue } from './nodes/acked-queue-source.ts';
import { ChannelSource, type ChannelSourceOptions } from './nodes/channel-source.ts';
import { type EventSourceOptions, EventSourceSource, type ServerSentEvent } from './nodes/event-source.ts';
import { IntervalSource, type IntervalOptions, IterableSource, type QueueLike, QueueSource } from './nodes/local-sources.ts';
import type { SourceNode } from './nodes/source.ts';
import { DelayNode, RateLimitNode } from './nodes/timing.ts';
import {
  FilterNode,
  FlattenNode,
  MapNode,
  PassNode,
  PluckNode,
  type ScanOptions,
  ScanNode,
  SinkNode,
  SliceNode,
  type UniqueOptions,
  UniqueNode,
  WithMetadataNode,
} from './nodes/transform.ts';
import { MapAsyncNode, type MapAsyncOptions } from './nodes/map-async.ts';
import {
  CollectNode,
  type PartitionOptions,
  PartitionNode,
  PartitionUniqueNode,
  type SlidingWindowOptions,
  SlidingWindowNode,
  TimedWindowNode,
  type UniqueWindowOptions,
} from './nodes/windows.ts';
import type { ErrorOptions, FailureHandler } from './policy.ts';
import { adopting, kNode, takeAdopted } from './wrap.ts';

export interface StreamOptions {
  /** The clock time-based operators read. Default: real time. Tests pass a ManualClock. */
  clock?: Clock;
  /** Cancel the pipeline when this signal aborts (same as cancel(signal.reason)). */
  signal?: AbortSignal;
}

export interface EmitOptions {
  /** Metadata that travels with the item (streamz's metadata=[...]); a record's `ref` counts who holds the item. */
  metadata?: readonly Metadata[];
}

/** Options of a source (fromIterable, fromInterval...): its pipeline's clock and signal, and what to do with an error that comes back. */
export interface SourceOptions extends StreamOptions, ErrorOptions {}

/** Streams given to zip or combineLatest, typed item by item. */
export type Streams<U extends unknown[]> = { [K in keyof U]: Stream<U[K]> };

/** What zip puts in its tuples for its arguments: a stream's items, or the literal itself. */
export type ZipValues<A extends readonly unknown[]> = { [K in keyof A]: A[K] extends Stream<infer V> ? V : A[K] };

/**
 * A streamz-style pipeline of items of type T. `new Stream<T>()` is a source
 * to `emit` into; each operator returns a new Stream downstream of this one,
 * and a stream may feed several branches. Steps run in this process, except
 * after `scatter(client)`, which moves items onto the cluster (see
 * ClusterStream).
 *
 * `await emit(x)` resolves when every branch has taken x — async sinks
 * included — and rejects with what a step threw on it: that is the
 * backpressure and the error path (see ErrorOptions for the other error
 * policies). `end()` finishes the pipeline cleanly (windows flush, buffers
 * drain, cluster work in flight is gathered); `cancel()` (or the `signal`
 * option) stops it at once.
 *
 * Each operator handles one item at a time, in arrival order.
 */
export class Stream<T> {
  /** @internal */
  readonly [kNode]: Node;

  /** A source stream to emit into. */
  constructor(options: StreamOptions = {}) {
    this[kNode] = takeAdopted() ?? new PassNode('Stream', [], new GraphContext(options));
  }

  /** The operator this stream is (`map`, `buffer(5)`...). */
  get operator(): string {
    return this[kNode].operator;
  }

  /** How many items this operator dropped under onError 'skip'. */
  get skipped(): number {
    return (this[kNode] as { failures?: FailureHandler }).failures?.skipped ?? 0;
  }

  /**
   * Start every source upstream of this point (streamz's start). Resolves
   * once they are exhausted (or ended) and the pipeline has finished; at once
   * if there is none.
   */
  start(): Promise<void> {
    return this[kNode].startSources();
  }

  /**
   * Push x into every branch downstream of this point; resolves when all
   * have taken it. `metadata` travels with x through every operator (see
   * RefCounter: a `ref` in it learns when every branch is done with x).
   */
  emit(x: T, options?: EmitOptions): Promise<void> {
    return this[kNode].emit(x, options?.metadata);
  }

  /**
   * No more items at this point: the pipeline below finishes — windows emit
   * what they hold, buffers drain, cluster work in flight is gathered.
   * Resolves when it has; rejects with any error that no emit took.
   */
  end(): Promise<void> {
    return this[kNode].end();
  }

  /** Stop the whole pipeline now: pending emits and end() reject with `reason` (an AbortError by default), held items are dropped, futures let go. */
  cancel(reason?: unknown): void {
    this[kNode].context.cancel(reason);
  }

  /**
   * Feed this stream's items into `downstream` too (joining their
   * pipelines). Into a zip or combineLatest, this stream becomes one more
   * input (a new place in their tuples).
   */
  connect(downstream: Stream<any>): void {
    this[kNode].connect(downstream[kNode]);
  }

  /** Stop feeding `downstream` (a zip or combineLatest drops this input's place). */
  disconnect(downstream: Stream<any>): void {
    this[kNode].disconnect(downstream[kNode]);
  }

  // ── one in, one (or none) out ──────────────────────────────────────────

  /**
   * fn(x) for each item; an async fn is awaited (the emit waits for it).
   * What fn throws rejects the emit that fed the item (streamz raises it
   * from emit too, for a synchronous pipeline), unless `onError` says
   * otherwise.
   */
  map<R>(fn: (x: T) => R, options?: ErrorOptions): Stream<Awaited<R>> {
    return derive(new MapNode(this[kNode], fn as (x: unknown) => unknown, options));
  }

  /** fn(...x) for each item, a list of arguments (itertools.starmap); an async fn is awaited. */
  starmap<R>(fn: T extends readonly unknown[] ? (...args: T) => R : never, options?: ErrorOptions): Stream<Awaited<R>> {
    const f = fn as unknown as (...args: unknown[]) => unknown;
    return derive(new MapNode(this[kNode], (x) => f(...(x as unknown[])), options, 'starmap'));
  }

  /**
   * Up to `parallelism` calls of fn in flight at once (default 1), results
   * emitted in the order the items came (streamz's map_async). An emit
   * returns once its call has started, so an error of fn reaches the next
   * emit or end() as a StreamError (with 'propagate'), as past a buffer.
   */
  mapAsync<R>(fn: (x: T) => R, options?: MapAsyncOptions): Stream<Awaited<R>> {
    return derive(new MapAsyncNode(this[kNode], fn as (x: unknown) => unknown, options));
  }

  /** The items for which predicate(x) holds (the predicate may be async); without a predicate, the truthy items. */
  filter<S extends T>(predicate: (x: T) => x is S, options?: ErrorOptions): Stream<S>;
  filter(predicate?: ((x: T) => unknown) | null, options?: ErrorOptions): Stream<T>;
  filter(predicate?: ((x: T) => unknown) | null, options?: ErrorOptions): Stream<T> {
    return derive(new FilterNode(this[kNode], (predicate ?? Boolean) as (x: unknown) => unknown, options));
  }

  /** The items for which predicate(x) does not hold (the predicate may be async). */
  remove(predicate: (x: T) => unknown, options?: ErrorOptions): Stream<T> {
    return derive(new FilterNode(this[kNode], predicate as (x: unknown) => unknown, options, true));
  }

  /**
   * The items at positions start, start + step, ... before end (the first
   * item is at 0), as list[start:end:step]; negative positions are not
   * supported. Items past end are dropped.
   */
  slice(start?: number, end?: number, step?: number): Stream<T> {
    return derive(new SliceNode(this[kNode], start ?? 0, end, step ?? 1));
  }

  /** After each item, a Map from each distinct item seen to how many times it was seen (a new Map each time). */
  frequencies(): Stream<Map<T, number>> {
    const count = (counts: Map<unknown, number>, x: unknown): Map<unknown, number> => new Map(counts).set(x, (counts.get(x) ?? 0) + 1);
    return derive(new ScanNode(this[kNode], count as (state: unknown, x: unknown) => unknown, { start: new Map() }, 'frequencies'));
  }

  /**
   * A running reduction: state = fn(state, x), emitting each new state. With
   * `start`, that is the first state; without, the first item is (and is
   * emitted as it is). With `returnsState`, fn returns [state, value] and
   * value is emitted. With `withState`, [state, value] is emitted.
   */
  scan<S, R>(fn: (state: S, x: T) => readonly [S, R] | Promise<readonly [S, R]>, options: ScanOptions<S> & { start: S; returnsState: true; withState: true }): Stream<[S, R]>;
  scan<S, R>(fn: (state: S, x: T) => readonly [S, R] | Promise<readonly [S, R]>, options: ScanOptions<S> & { start: S; returnsState: true }): Stream<R>;
  scan<S>(fn: (state: S, x: T) => S | Promise<S>, options: ScanOptions<S> & { start: S; withState: true }): Stream<[S, S]>;
  scan(fn: (state: T, x: T) => T | Promise<T>, options: ScanOptions<T> & { withState: true }): Stream<[T, T]>;
  scan<S>(fn: (state: S, x: T) => S | Promise<S>, options: ScanOptions<S> & { start: S }): Stream<S>;
  scan(fn: (state: T, x: T) => T | Promise<T>, options?: ScanOptions<T>): Stream<T>;
  scan(fn: (state: never, x: T) => unknown, options?: ScanOptions<unknown>): Stream<unknown> {
    return derive(new ScanNode(this[kNode], fn as (state: unknown, x: unknown) => unknown, options));
  }

  /** streamz's name for scan. */
  get accumulate(): Stream<T>['scan'] {
    return this.scan.bind(this) as Stream<T>['scan'];
  }

  /** x[key] of each item (a missing key or index gives undefined, where Python raises). */
  pluck<K extends keyof T>(key: K): Stream<T[K]>;
  /** [x[k1], x[k2], ...] of each item. */
  pluck<const K extends ReadonlyArray<keyof T>>(keys: K): Stream<{ -readonly [I in keyof K]: T[K[I]] }>;
  pluck(pick: PropertyKey | readonly PropertyKey[]): Stream<unknown> {
    return derive(new PluckNode(this[kNode], pick));
  }

  /**
   * Items whose key has not been seen: ever, or among the `history` keys
   * seen most recently (an LRU: a repeated key is refreshed; streamz's
   * maxsize). Keys compare as Map keys: objects by identity (give
   * `key: JSON.stringify` to compare them by content, streamz's
   * hashable=False).
   */
  unique(options?: UniqueOptions<T>): Stream<T> {
    return derive(new UniqueNode(this[kNode], options as UniqueOptions<unknown>));
  }

  /** Each item with the metadata that travels with it: { value, metadata } (an empty list when it has none). */
  withMetadata(): Stream<{ value: T; metadata: readonly Metadata[] }> {
    return derive(new WithMetadataNode(this[kNode]));
  }

  /** Each element of each item (items are iterables: lists, sets...); every element carries the item's metadata. */
  flatten(): Stream<T extends Iterable<infer E> ? E : never> {
    return derive(new FlattenNode(this[kNode]));
  }

  // ── time and flow ──────────────────────────────────────────────────────

  /** At most one item per `ms`, none dropped; an emit waits until its item is let through and taken. */
  rateLimit(ms: number): Stream<T> {
    return derive(new RateLimitNode(this[kNode], ms));
  }

  /**
   * Each item `ms` after it arrived, in order; emits wait only when the
   * downstream side falls behind. Deliberately unlike streamz, whose delay
   * waits `ms` between one item's hand-over and the next (so a burst is
   * spread out): here each item is delayed by `ms`, and a burst stays a
   * burst. rateLimit spreads items out.
   */
  delay(ms: number): Stream<T> {
    return derive(new DelayNode(this[kNode], ms));
  }

  /** Up to n items held between a fast side and a slow one; an emit waits only while it is full. */
  buffer(n: number): Stream<T> {
    return derive(new BufferNode(this[kNode], n));
  }

  /** Only the newest item when the downstream side is busy; the others are dropped. */
  latest(): Stream<T> {
    return derive(new LatestNode(this[kNode]));
  }

  // ── lists ──────────────────────────────────────────────────────────────

  /**
   * Lists of the items that arrived in each `ms` interval, on a fixed grid.
   * Deliberately unlike streamz, which emits an empty tuple for an interval
   * in which nothing arrived: here an empty interval emits nothing.
   */
  timedWindow(ms: number): Stream<T[]> {
    return derive(new TimedWindowNode(this[kNode], ms));
  }

  /** timedWindow keeping one item per key in each list: the first of each key (keep 'first', default) or the last. Empty intervals emit nothing. */
  timedWindowUnique(ms: number, options: UniqueWindowOptions<T> = {}): Stream<T[]> {
    return derive(new TimedWindowNode(this[kNode], ms, undefined, options as UniqueWindowOptions));
  }

  /**
   * Lists of n items; with `key`, items of each key are listed together
   * (key(x), or x[key]); with timeoutMs, a list waits at most that long after
   * its first item.
   */
  partition(n: number, options?: PartitionOptions<T>): Stream<T[]> {
    return derive(new PartitionNode(this[kNode], n, options as PartitionOptions));
  }

  /** Lists of n items with distinct keys: a repeated key keeps its first item (keep 'first', default) or its last (keep 'last'). */
  partitionUnique(n: number, options?: UniqueWindowOptions<T>): Stream<T[]> {
    return derive(new PartitionUniqueNode(this[kNode], n, options as UniqueWindowOptions));
  }

  /**
   * The last n items after each item. Deliberately unlike streamz, whose
   * default (return_partial=True) also emits the shorter windows of the
   * first n - 1 items: here they are emitted only with `{ partial: true }`.
   */
  slidingWindow(n: number, options?: SlidingWindowOptions): Stream<T[]> {
    return derive(new SlidingWindowNode(this[kNode], n, options));
  }

  /** Holds items until `flush()` is called on the returned stream, then emits them as one list. */
  collect(): CollectStream<T> {
    return adopting(new CollectNode(this[kNode]), () => new CollectStream<T>());
  }

  // ── joining streams ────────────────────────────────────────────────────

  /**
   * Tuples of the i-th items of this stream and the others (streamz's zip).
   * An argument that is not a Stream is a literal, put at its place in every
   * tuple: `a.zip(123, b)` gives `[a_i, 123, b_i]`. The same stream may be
   * given twice (`a.zip(a)` gives `[a_i, a_i]`). Streams connected to the
   * zip later take a place too, and one disconnected leaves it. For
   * `maxsize` (how far one input may run ahead), see `Stream.zip`.
   */
  zip<A extends unknown[]>(...others: A): Stream<[T, ...ZipValues<A>]> {
    return Stream.zip([this, ...others]) as unknown as Stream<[T, ...ZipValues<A>]>;
  }

  /**
   * zip of the given inputs, streams or literals (streamz's `zip(a, 123, b,
   * maxsize=2)`): at least one must be a Stream. An input that runs more
   * than `maxsize` (default 10) items ahead of the others waits.
   */
  static zip<A extends unknown[]>(inputs: readonly [...A], options: ZipOptions = {}): Stream<ZipValues<A>> {
    const nodes: Node[] = [];
    const literals: ZipLiteral[] = [];
    for (const [index, input] of inputs.entries()) {
      if (input instanceof Stream) nodes.push(input[kNode]);
      else if (typeof input === 'object' && input !== null && kNode in input) throw new TypeError('zip: a ClusterStream cannot be zipped with local streams; gather() it first');
      else literals.push({ index, value: input });
    }
    if (nodes.length === 0) throw new TypeError('zip: give at least one Stream (the other arguments are literals)');
    return derive(new ZipNode(nodes, options, literals));
  }

  /**
   * After each item of any input (once each has sent one), the tuple of their
   * latest items. `emitOn` limits the inputs whose items trigger a tuple
   * (streams, or positions: 0 is this stream). A stream connected later must
   * send an item before the next tuple, and triggers tuples unless emitOn
   * says otherwise; one disconnected leaves the tuple.
   */
  combineLatest<U extends unknown[]>(...others: Streams<U>): Stream<[T, ...U]>;
  combineLatest<U extends unknown[]>(...args: [...Streams<U>, CombineLatestOptions<Stream<any>>]): Stream<[T, ...U]>;
  combineLatest(...args: unknown[]): Stream<unknown> {
    const last = args.at(-1);
    const options = last instanceof Stream ? {} : (args.pop() as CombineLatestOptions<Stream<unknown>>);
    const inputs = [this, ...(args as Array<Stream<unknown>>)];
    let emitOn: Node[] | undefined;
    if (options.emitOn !== undefined) {
      const given = Array.isArray(options.emitOn) ? (options.emitOn as ReadonlyArray<number | Stream<unknown>>) : [options.emitOn as number | Stream<unknown>];
      emitOn = given.map((e) => {
        if (e instanceof Stream) {
          if (!inputs.includes(e)) throw new RangeError('combineLatest: an emitOn stream is not one of its inputs');
          return e[kNode];
        }
        if (!(Number.isInteger(e) && e >= 0 && e < inputs.length)) throw new RangeError(`combineLatest: emitOn ${e} is not an input position`);
        return inputs[e][kNode];
      });
    }
    return derive(new CombineLatestNode(inputs.map((s) => s[kNode]), emitOn));
  }

  /**
   * Every item of this stream (none is dropped: streamz's "lossless" input),
   * paired with the latest item of each other stream; items of this stream
   * wait until every other one has sent an item (streamz's zip_latest).
   */
  zipLatest<U extends unknown[]>(...others: Streams<U>): Stream<[T, ...U]> {
    return derive(new ZipLatestNode([this[kNode], ...others.map((s) => s[kNode])]));
  }

  /** The items of this stream and the others, as they come. */
  union<U>(...others: Array<Stream<U>>): Stream<T | U> {
    return derive(new PassNode('union', [this[kNode], ...others.map((s) => s[kNode])]));
  }

  // ── sinks ──────────────────────────────────────────────────────────────

  /** Call fn(x) for each item; an async fn is awaited, so emits wait for it. Returns the sink (to disconnect it). */
  sink(fn: (x: T) => unknown, options?: ErrorOptions): Stream<never> {
    return derive(new SinkNode(this[kNode], fn as (x: unknown) => unknown, options));
  }

  /** A list that each item is appended to as it arrives. */
  sinkToList(): T[] {
    const list: T[] = [];
    new SinkNode(this[kNode], (x) => void list.push(x as T), {}, 'sinkToList');
    return list;
  }

  /**
   * Write prefix + String(x) + suffix (default '\n') for each item to the
   * file at `path` (streamz's sink_to_file): mode 'w' (default) truncates it
   * first, 'a' appends. An emit resolves once its item has been handed to the
   * operating system (with `fsync`, once it is on the disk); end() closes the
   * file. Node only.
   */
  sinkToFile(path: string, options?: SinkToFileOptions): Stream<never> {
    return derive(fileOperators('sinkToFile').sinkToFile(this[kNode], path, options));
  }

  /**
   * Append each item to the channel `name` (created if need be): the value is
   * scattered to the scheduler and its future appended. An emit returns once
   * the append is acknowledged.
   */
  sinkToChannel(client: Client, name: string, options?: ChannelOptions & ErrorOptions): Stream<never> {
    return derive(new ChannelSinkNode(this[kNode], client, name, { ...options, remote: false }));
  }

  // ── the cluster ────────────────────────────────────────────────────────

  /**
   * Move each item onto the cluster (as a scattered future); the returned
   * stream's steps run there. With `{ batch: n }`, items are sent n to a
   * request and emits return before their item is stored (see ScatterOptions).
   */
  scatter(client: Client, options: ScatterOptions = {}): ClusterStream<T> {
    const node = (options.batch ?? 1) > 1 ? new BatchScatterNode(this[kNode], client, options) : new ScatterNode(this[kNode], client, options);
    return adopting(node, () => new ClusterStream<T>(client));
  }

  // ── sources ────────────────────────────────────────────────────────────

  /** The items of an array, iterable or async iterable, once start() is called. */
  static fromIterable<T>(items: Iterable<T> | AsyncIterable<T>, options: SourceOptions = {}): SourceStream<T> {
    return source(new IterableSource(items, new GraphContext(options), options));
  }

  /** 0, 1, 2... one every `ms` (the first `ms` after start()), up to `count` if given. */
  static fromInterval(ms: number, options: SourceOptions & IntervalOptions = {}): SourceStream<number> {
    return source(new IntervalSource(ms, new GraphContext(options), options));
  }

  /**
   * The futures of a channel, in its order, from `from` on, then new ones as
   * they are appended, until the channel is stopped. A cluster stream:
   * `.gather()` for the values, `.map('fn')` to run more tasks on them.
   */
  static fromChannel<T = unknown>(client: Client, name: string, options: SourceOptions & ChannelSourceOptions = {}): ClusterSourceStream<T> {
    const node = new ChannelSource(client, name, new GraphContext(options), options);
    return adopting(node, () => new ClusterSourceStream<T>(client));
  }

  /** The events of a Server-Sent Events URL, reconnecting with Last-Event-ID. */
  static fromEventSource(url: string, options: SourceOptions & EventSourceOptions = {}): EventSourceStream {
    return adopting(new EventSourceSource(url, new GraphContext(options), options), () => new EventSourceStream());
  }

  /**
   * The lines of a text file (each with its delimiter, default '\n', as
   * streamz gives them), then the lines appended to it as it grows, like
   * `tail -f` (streamz's from_textfile). `fromEnd` starts at the end of the
   * file, `position` at a byte offset (the source's `position` after the last
   * line the pipeline took); `follow: false` stops at the end of the file.
   * Node only.
   */
  static fromTextFile(path: string, options: SourceOptions & TextFileOptions = {}): TextFileStream {
    return adopting(fileOperators('fromTextFile').fromTextFile(path, new GraphContext(options), options), () => new TextFileStream());
  }

  /**
   * The path of each file in the directory `dir`: those there at start(),
   * then each new one as it appears (streamz's filenames), checked every
   * `pollIntervalMs`; `match` keeps only some names. Node only.
   */
  static filenames(dir: string, options: SourceOptions & FilenamesOptions = {}): SourceStream<string> {
    return source(fileOperators('filenames').filenames(dir, new GraphContext(options), options));
  }

  /**
   * Items taken from a queue (anything with an async get(), or an async
   * iterable). With `ack` (a sluice Queue), items are leased rather than
   * taken, and acknowledged only once the pipeline is done with them: see
   * AckOptions.
   */
  static fromQueue<T>(queue: LeasingQueue<T>, options: SourceOptions & AckOptions & { ack: true }): AckedQueueStream<T>;
  static fromQueue<T>(queue: QueueLike<T> | AsyncIterable<T>, options?: SourceOptions & { ack?: false }): SourceStream<T>;
  static fromQueue<T>(queue: QueueLike<T> | AsyncIterable<T> | LeasingQueue<T>, options: SourceOptions & AckOptions = {}): SourceStream<T> {
    if (options.ack) return adopting(new AckedQueueSource(queue as LeasingQueue<T>, new GraphContext(options), options), () => new AckedQueueStream<T>());
    return source(new QueueSource(queue as QueueLike<T> | AsyncIterable<T>, new GraphContext(options), options));
  }
}

/** A stream that produces items itself; nothing flows before start(). */
export class SourceStream<T> extends Stream<T> {
  /** Start producing. Resolves once the source is exhausted (or end() was called) and the pipeline has finished; rejects with an error that stopped it. */
  override start(): Promise<void> {
    return (this[kNode] as SourceNode).start();
  }

  /** Stop producing and finish the pipeline. */
  override end(): Promise<void> {
    return (this[kNode] as SourceNode).end();
  }
}

/** fromQueue's stream with ack. */
export class AckedQueueStream<T> extends SourceStream<T> {
  /** Items acknowledged (done with: they left the queue). */
  get acked(): number {
    return (this[kNode] as AckedQueueSource).acked;
  }

  /** Items given back to the queue because a step failed on them. */
  get returned(): number {
    return (this[kNode] as AckedQueueSource).returned;
  }

  /** Items done with whose ack came after their lease had lapsed: they went back to the queue, and may be handled again. */
  get expiredAcks(): number {
    return (this[kNode] as AckedQueueSource).expiredAcks;
  }
}

/** fromTextFile's stream. */
export class TextFileStream extends SourceStream<string> {
  /** The byte offset just after the last line the pipeline took: pass it as `position` to a new source to go on from there. */
  get position(): number {
    return (this[kNode] as SourceNode & { position: number }).position;
  }
}

/** fromEventSource's stream. */
export class EventSourceStream extends SourceStream<ServerSentEvent> {
  /** The id of the last event the pipeline took: pass it as `lastEventId` to a new source to go on from there. */
  get lastEventId(): string | undefined {
    return (this[kNode] as EventSourceSource).lastEventId;
  }

  /**
   * The id of the last event such that it and every event before it are
   * done with (every branch finished with them; none failed): saved and
   * passed as `lastEventId` to a new source after a crash, nothing is skipped.
   */
  get doneEventId(): string | undefined {
    return (this[kNode] as EventSourceSource).doneEventId;
  }
}

/** collect()'s stream: flush() emits what it has collected. */
export class CollectStream<T> extends Stream<T[]> {
  /** Emit the items collected so far as one list; resolves when it is taken. Usable as a sink: `other.sink(collected.flush)`. */
  readonly flush = (_trigger?: unknown): Promise<void> => (this[kNode] as CollectNode).flushCollected();
}

function derive<S>(node: Node): Stream<S> {
  return adopting(node, () => new Stream<S>());
}

function source<S>(node: SourceNode): SourceStream<S> {
  return adopting(node, () => new SourceStream<S>());
}
