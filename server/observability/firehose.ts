import type { ChannelInfo } from '../../schemas/channels.ts';
import type { TaskErrorInfo } from '../../schemas/common.ts';
import type { ErrorRecord, FirehoseEvent, FirehoseFrame, SnapshotFrame, TaskProgress, TaskRecord, TaskTotals, WorkerInfo } from '../../schemas/firehose.ts';
import type { Channels } from '../services/channels.ts';
import type { CoordinationActivity } from './coordination-activity.ts';
import type { ClusterView, EndedEvent, TaskEvents } from '../services/task-events.ts';
import { sseFrame, type SseStream } from '../http/sse/sse-stream.ts';
import type { WorkerState } from '../state/types.ts';
import { FunctionProgressCounter } from '../services/task-progress.ts';
import { VERSION } from '../version.ts';

/** How often task activity is summed up and sent. */
const TICK_MS = 250;
/** Frames kept for readers that resume with Last-Event-ID, at most (and no more than the bytes given). */
const RING = 2000;
/** Ended tasks sent per tick at most; more are counted, not listed. */
const ENDED_PER_TICK = 500;
/** Errors sent per tick at most; more are counted, not listed. */
const ERRORS_PER_TICK = 20;
/** An error's message and traceback as the stream shows them, at most (characters); the task keeps them whole. */
const ERROR_MESSAGE_SHOWN = 2048;
const TRACEBACK_SHOWN = 8192;
const RECENT_TASKS = 500;
const RECENT_ERRORS = 20;
/** Seconds of throughput history a new reader gets. */
const HISTORY_S = 300;
/** Functions listed one by one in the firehose's progress; the others are summed up. */
const PROGRESS_LISTED = 20;
/**
 * Making the progress list scans the functions with active tasks (some tens
 * of nanoseconds each). Past this many, the tasks frames carry it once every
 * PROGRESS_SLOW_MS rather than every tick.
 */
const PROGRESS_SCAN_LIMIT = 10_000;
const PROGRESS_SLOW_MS = 2000;

/** A worker as GET /workers and the firehose show it. The figures are there once its heartbeats carry them. */
export function workerInfo(w: WorkerState): WorkerInfo {
  return {
    id: w.id,
    name: w.name,
    functions: [...w.functions],
    concurrency: w.concurrency,
    processing: w.tasks.size,
    draining: w.draining,
    connectedAt: new Date(w.connectedAt).toISOString(),
    lastHeartbeatAt: new Date(w.lastHeartbeatAt).toISOString(),
    ...(w.pid === null ? {} : { pid: w.pid }),
    ...workerStats(w),
  };
}

function workerStats(w: WorkerState) {
  const stats = w.stats;
  if (!stats) return {};
  return {
    ...(stats.rssBytes === undefined ? {} : { rssBytes: stats.rssBytes }),
    ...(stats.eventLoopUtilization === undefined ? {} : { eventLoopUtilization: stats.eventLoopUtilization }),
    ...(stats.memoryLimitBytes === undefined ? {} : { memoryLimitBytes: stats.memoryLimitBytes }),
  };
}

/**
 * GET /events: the firehose a dashboard reads. Task activity is summed up
 * every 250 ms (counts, totals, the tasks that ended with their workers and
 * times, errors with tracebacks) so that thousands of tasks a second cost a
 * reader four frames a second; so are a channel's appends (one `appended`
 * frame per busy channel per tick, with the count). Workers joining or
 * leaving and channels configured, stopped or deleted go out as they happen.
 * Queues, locks, semaphores, variables, flags and topics are summed up on the
 * same tick (see CoordinationActivity). Frame ids are `<epoch>-<n>`: a reader that resumes with a
 * Last-Event-ID of this run gets the frames it missed from a ring buffer;
 * one from an earlier run (the scheduler restarted) or too old gets a fresh
 * snapshot, marked `restarted` when the run changed.
 */
export class Firehose {
  /** Identifies this run of the scheduler. */
  readonly epoch = Date.now().toString(36);
  readonly #cluster: ClusterView;
  readonly #tasks: TaskEvents;
  readonly #channels: Channels;
  readonly #coordination: CoordinationActivity;
  readonly #maxBuffered: number;
  readonly #readers = new Set<SseStream>();
  readonly #ring: FrameLog;
  #n = 0;
  readonly #totals: TaskTotals = { submitted: 0, finished: 0, error: 0, cancelled: 0, lost: 0 };
  #ended: TaskRecord[] = [];
  #endedDropped = 0;
  #errors: ErrorRecord[] = [];
  #errorsDropped = 0;
  readonly #progress = new FunctionProgressCounter();
  /** The progress list the last tasks frame carried, and when it was made. */
  #lastProgress: { at: number; progress: TaskProgress } | undefined;
  readonly #recentTasks = new Recent<TaskRecord>(RECENT_TASKS);
  readonly #recentErrors = new Recent<ErrorRecord>(RECENT_ERRORS);
  /** [second, finished, errors] for the last HISTORY_S seconds. */
  readonly #history = new Recent<[number, number, number]>(HISTORY_S);
  #dirty = false;
  /** Entries appended per channel since the last tick: a busy channel costs a reader one frame a tick, not one per append. */
  readonly #appended = new Map<string, number>();
  /** Workers whose heartbeats brought figures since the last tick: one frame a tick for all of them. */
  readonly #workerStats = new Map<string, WorkerState>();
  #timer: NodeJS.Timeout | undefined;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(cluster: ClusterView, tasks: TaskEvents, channels: Channels, coordination: CoordinationActivity, options: { maxBufferedBytes: number; replayBytes: number }) {
    this.#cluster = cluster;
    this.#tasks = tasks;
    this.#channels = channels;
    this.#coordination = coordination;
    this.#maxBuffered = options.maxBufferedBytes;
    this.#ring = new FrameLog(RING, options.replayBytes);
  }

  get maxBufferedBytes(): number {
    return this.#maxBuffered;
  }

  /** Totals since this scheduler started. */
  get totals(): Readonly<TaskTotals> {
    return this.#totals;
  }

  start(): void {
    const on = <E extends string, A extends unknown[]>(emitter: { on(e: E, f: (...a: A) => void): unknown; off(e: E, f: (...a: A) => void): unknown }, event: E, fn: (...a: A) => void): void => {
      emitter.on(event, fn);
      this.#unsubscribe.push(() => emitter.off(event, fn));
    };
    const events = this.#tasks;
    on(events, 'task:submitted', (count: number) => {
      this.#totals.submitted += count;
      this.#dirty = true;
    });
    on(events, 'task:ended', (event: EndedEvent) => this.#taskEnded(event));
    on(events, 'worker:joined', (worker: WorkerState) => {
      this.#dirty = true; // it takes queued tasks at once
      this.#publish('worker', { type: 'joined', worker: workerInfo(worker) });
    });
    on(events, 'worker:left', (worker: WorkerState) => {
      this.#dirty = true; // its tasks queue again
      this.#workerStats.delete(worker.id);
      this.#publish('worker', { type: 'left', worker: workerInfo(worker) });
    });
    on(events, 'worker:stats', (worker: WorkerState) => this.#workerStats.set(worker.id, worker));
    const channelEvents = this.#channels.events;
    on(channelEvents, 'channel:configured', (channel: ChannelInfo) => this.#publishChannel(channel.name, { type: 'configured', channel }));
    on(channelEvents, 'channel:appended', (name: string, count: number) => {
      this.#appended.set(name, (this.#appended.get(name) ?? 0) + count);
    });
    on(channelEvents, 'channel:stopped', (channel: ChannelInfo) => this.#publishChannel(channel.name, { type: 'stopped', channel }));
    on(channelEvents, 'channel:deleted', (name: string) => {
      this.#appended.delete(name);
      this.#publish('channel', { type: 'deleted', name });
    });
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const reader of this.#readers) reader.close();
  }

  /** A new reader: the frames it missed, or a snapshot; then everything as it happens. */
  subscribe(stream: SseStream, lastEventId: string | null): void {
    this.#readers.add(stream);
    stream.onClose(() => this.#readers.delete(stream));
    const [epoch, n] = (lastEventId ?? '').split('-');
    const last = Number(n);
    const first = this.#ring.first();
    if (epoch === this.epoch && Number.isInteger(last) && first && last >= first.n - 1) {
      for (const entry of this.#ring.entries()) if (entry.n > last) stream.write(entry.frame);
      return;
    }
    const snapshot = this.snapshot(lastEventId !== null && epoch !== this.epoch);
    stream.write(sseFrame('snapshot', JSON.stringify(snapshot), `${this.epoch}-${this.#n}`));
  }

  /** Tasks by function: the `limit` busiest, the rest summed up. */
  progress(limit = PROGRESS_LISTED): TaskProgress {
    return this.#progress.progress(this.#cluster.countsByFunction(), limit);
  }

  /** Everything a dashboard shows, now. */
  snapshot(restarted = false): SnapshotFrame {
    return {
      epoch: this.epoch,
      restarted,
      version: VERSION,
      startedAt: new Date(this.#cluster.startedAt).toISOString(),
      counts: { ...this.#cluster.counts() },
      totals: { ...this.#totals },
      progress: this.progress(),
      workers: [...this.#cluster.workers()].map(workerInfo),
      channels: this.#channels.list(),
      ...this.#coordination.snapshot(),
      recentTasks: this.#recentTasks.toArray(),
      recentErrors: this.#recentErrors.toArray(),
      history: this.#history.toArray(),
    };
  }

  #taskEnded(event: EndedEvent): void {
    const status = event.outcome.status as TaskRecord['status'];
    if (status in this.#totals) this.#totals[status]++;
    this.#progress.ended(event.fn, status);
    const record: TaskRecord = { key: event.key, fn: event.fn, worker: event.worker, status, startedAt: event.startedAt, finishedAt: event.finishedAt };
    if (this.#ended.length < ENDED_PER_TICK) this.#ended.push(record);
    else this.#endedDropped++;
    this.#recentTasks.push(record);
    if (status !== 'finished' && event.outcome.error) {
      // Shown, not kept: a burst of tasks failing with long messages must not make frames of many megabytes.
      const failed: ErrorRecord = { ...record, error: shown(event.outcome.error) };
      if (this.#errors.length < ERRORS_PER_TICK) this.#errors.push(failed);
      else this.#errorsDropped++;
      this.#recentErrors.push(failed);
    }
    const second = Math.floor(event.finishedAt / 1000);
    let slot = this.#history.last();
    if (!slot || slot[0] !== second) {
      slot = [second, 0, 0];
      this.#history.push(slot);
    }
    if (status === 'finished') slot[1]++;
    else if (status === 'error' || status === 'lost') slot[2]++;
    this.#dirty = true;
  }

  /** Sum up the last quarter second of task and coordination activity. */
  #tick(): void {
    // Published with or without readers, so that one resuming finds it in the ring.
    const at = Date.now();
    for (const [event, data] of this.#coordination.take(at)) this.#send(event, data);
    for (const name of this.#appended.keys()) this.#publishAppended(name);
    if (this.#workerStats.size > 0) {
      const workers = [...this.#workerStats.values()].map((w) => ({ id: w.id, lastHeartbeatAt: new Date(w.lastHeartbeatAt).toISOString(), ...workerStats(w) }));
      this.#workerStats.clear();
      this.#publish('worker', { type: 'stats', workers });
    }
    if (!this.#dirty) return;
    this.#publish('tasks', {
      at,
      counts: { ...this.#cluster.counts() },
      totals: { ...this.#totals },
      progress: this.#tickProgress(at),
      ended: this.#ended,
      endedDropped: this.#endedDropped,
      errors: this.#errors,
      errorsDropped: this.#errorsDropped,
      workers: [...this.#cluster.workers()].map((w) => ({ id: w.id, processing: w.tasks.size, lastHeartbeatAt: new Date(w.lastHeartbeatAt).toISOString() })),
    });
    this.#reset();
  }

  #tickProgress(at: number): TaskProgress {
    const last = this.#lastProgress;
    if (last && at - last.at < PROGRESS_SLOW_MS && this.#cluster.countsByFunction().size > PROGRESS_SCAN_LIMIT) return last.progress;
    this.#lastProgress = { at, progress: this.progress() };
    return this.#lastProgress.progress;
  }

  #reset(): void {
    this.#ended = [];
    this.#errors = [];
    this.#errorsDropped = 0;
    this.#endedDropped = 0;
    this.#dirty = false;
  }

  /** A channel changed: the appends summed up so far go out first, so a reader sees them in order. */
  #publishChannel(name: string, data: FirehoseFrame<'channel'>): void {
    this.#publishAppended(name);
    this.#publish('channel', data);
  }

  #publishAppended(name: string): void {
    const count = this.#appended.get(name);
    if (count === undefined) return;
    this.#appended.delete(name);
    const channel = this.#channels.find(name);
    if (channel) this.#publish('channel', { type: 'appended', channel, count });
  }

  #publish<E extends FirehoseEvent>(event: E, data: FirehoseFrame<E>): void {
    this.#send(event, data);
  }

  #send(event: FirehoseEvent, data: unknown): void {
    const n = ++this.#n;
    const frame = sseFrame(event, JSON.stringify(data), `${this.epoch}-${n}`);
    this.#ring.push({ n, frame });
    for (const reader of this.#readers) reader.write(frame);
  }
}

/** An error as the stream shows it: message and traceback cut to a few kilobytes (GET /futures/:key has them whole). */
function shown(error: TaskErrorInfo): TaskErrorInfo {
  if (error.message.length <= ERROR_MESSAGE_SHOWN && error.traceback.length <= TRACEBACK_SHOWN) return error;
  return { ...error, message: cut(error.message, ERROR_MESSAGE_SHOWN), traceback: cut(error.traceback, TRACEBACK_SHOWN) };
}

function cut(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

/** The latest frames, at most `capacity` of them and `maxBytes` characters together, oldest first. */
class FrameLog {
  #items: Array<{ n: number; frame: string }> = [];
  #head = 0;
  #bytes = 0;
  readonly #capacity: number;
  readonly #maxBytes: number;

  constructor(capacity: number, maxBytes: number) {
    this.#capacity = capacity;
    this.#maxBytes = maxBytes;
  }

  push(entry: { n: number; frame: string }): void {
    this.#items.push(entry);
    this.#bytes += entry.frame.length;
    while (this.#head < this.#items.length && (this.#items.length - this.#head > this.#capacity || this.#bytes > this.#maxBytes)) {
      this.#bytes -= this.#items[this.#head].frame.length;
      this.#items[this.#head++] = undefined as never; // let the frame go now
    }
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  first(): { n: number; frame: string } | undefined {
    return this.#items[this.#head];
  }

  *entries(): IterableIterator<{ n: number; frame: string }> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i];
  }
}

/** The last `capacity` items pushed, oldest first: a ring, so that a push costs the same however full it is. */
class Recent<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #next = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  push(item: T): void {
    if (this.#items.length < this.#capacity) this.#items.push(item);
    else this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** The newest item. */
  last(): T | undefined {
    return this.#items.length === 0 ? undefined : this.#items[(this.#next + this.#capacity - 1) % this.#capacity];
  }

  first(): T | undefined {
    return this.#items.length < this.#capacity ? this.#items[0] : this.#items[this.#next];
  }

  toArray(): T[] {
    return this.#items.length < this.#capacity ? [...this.#items] : [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)];
  }
}
