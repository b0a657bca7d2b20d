/**
 * sluice/stream: streamz-style pipelines whose steps can run on the cluster.
 *
 *   const source = new Stream<number>();
 *   source.map(increment).rateLimit(500).sink(write);
 *   for (let x = 0; x < 10; x++) await source.emit(x);   // waits for rateLimit and write
 *
 *   source.scatter(client).map('inc').buffer(5).gather().sink(write);
 */
export { type Clock, ManualClock, systemClock } from './clock.ts';
export { ClusterSourceStream, ClusterStream, type ClusterStreams } from './cluster-stream.ts';
export { StreamEndedError, StreamError } from './errors.ts';
export { type Metadata, RefCounter, type RefCounterOptions } from './metadata.ts';
export type { ClusterMapOptions, ClusterScanOptions } from './nodes/cluster.ts';
export type { ScatterOptions } from './nodes/scatter.ts';
export type { CombineLatestOptions, ZipOptions } from './nodes/combine.ts';
export type { AckOptions, LeasedItems, LeasingQueue } from './nodes/acked-queue-source.ts';
export type { ChannelSourceOptions } from './nodes/channel-source.ts';
export type { EventSourceOptions, ServerSentEvent } from './nodes/event-source.ts';
export type { IntervalOptions, QueueLike } from './nodes/local-sources.ts';
export type { MapAsyncOptions } from './nodes/map-async.ts';
export type { ScanOptions, UniqueOptions } from './nodes/transform.ts';
export type { KeyOption, PartitionOptions, SlidingWindowOptions, UniqueWindowOptions } from './nodes/windows.ts';
export type { ErrorOptions, ErrorPolicy, StreamFailure } from './policy.ts';
export { AckedQueueStream, CollectStream, type EmitOptions, EventSourceStream, type SourceOptions, SourceStream, Stream, type StreamOptions, type Streams, TextFileStream, type ZipValues } from './stream.ts';
