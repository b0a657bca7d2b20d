/**
 * The dashboard's picture of the cluster, kept from the /events firehose.
 * Events change it at once; the view redraws at most once per animation
 * frame, however many events arrive.
 */

import type { ChannelInfo } from '../../schemas/channels.ts';
import type {
  ErrorRecord,
  FirehoseEntry,
  LeaseSummary,
  TaskCounts,
  TaskProgress,
  TaskRecord,
  TaskTotals,
  TopicSummary,
  WorkerInfo,
} from '../../schemas/firehose.ts';
import type { QueueInfo } from '../../schemas/queues.ts';

// The frames' types come from their zod schemas (type-only imports: no zod in the bundle).
export type { ErrorRecord, FunctionProgress, TaskProgress, TaskRecord } from '../../schemas/firehose.ts';

export type WorkerView = WorkerInfo & {
  /** Set when it disconnected; it stays listed, greyed, for a while. */
  leftAt?: number;
};
export type ChannelView = ChannelInfo;
export type QueueView = QueueInfo;
/** A lock or a semaphore. */
export type LeaseView = LeaseSummary;
export type TopicView = TopicSummary;
export type Counts = TaskCounts;
export type Totals = TaskTotals;

const RECENT_TASKS = 3000;
const RECENT_ERRORS = 20;
const HISTORY_S = 300;
const RATE_WINDOW_S = 10;
const LEFT_WORKERS_KEPT_MS = 60_000;
const FLAGS_SHOWN = 200;

const leaseId = (lease: { kind: string; name: string }): string => `${lease.kind}:${lease.name}`;

export class Model {
  connection: 'connecting' | 'live' | 'reconnecting' = 'connecting';
  /** When the dashboard noticed that the scheduler had restarted. */
  restartedAt: number | null = null;
  version = '';
  startedAt = '';
  counts: Counts = { waiting: 0, queued: 0, processing: 0 };
  totals: Totals = { submitted: 0, finished: 0, error: 0, cancelled: 0, lost: 0 };
  /** Tasks by function. */
  progress: TaskProgress = { functions: [], other: null };
  workers = new Map<string, WorkerView>();
  channels = new Map<string, ChannelView>();
  queues = new Map<string, QueueView>();
  /** Locks and semaphores, by `kind:name`. */
  leases = new Map<string, LeaseView>();
  topics = new Map<string, TopicView>();
  variableCount = 0;
  flagCount = 0;
  /** Some of the flags that are set (all, unless there are very many). */
  flagsSet = new Set<string>();
  recentTasks: TaskRecord[] = [];
  recentErrors: ErrorRecord[] = [];
  /** [second, finished, errors] */
  history: Array<[number, number, number]> = [];
  /** Per channel: [second, appended] for the rate. */
  readonly #appends = new Map<string, Array<[number, number]>>();
  /** Per queue: [second, puts, gets] for the rates. */
  readonly #queueOps = new Map<string, Array<[number, number, number]>>();
  readonly #listeners = new Set<() => void>();
  #frame = 0;

  /** Call fn (at most once per animation frame) after changes. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  changed(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      for (const fn of this.#listeners) fn();
    });
  }

  setConnection(state: Model['connection']): void {
    this.connection = state;
    this.changed();
  }

  apply(...[event, data]: FirehoseEntry): void {
    switch (event) {
      case 'snapshot':
        if (data.restarted) this.restartedAt = Date.now();
        this.version = data.version;
        this.startedAt = data.startedAt;
        this.counts = data.counts;
        this.totals = data.totals;
        this.progress = data.progress;
        this.workers = new Map(data.workers.map((w) => [w.id, w]));
        this.channels = new Map(data.channels.map((c) => [c.name, c]));
        this.#appends.clear();
        this.queues = new Map(data.queues.map((q) => [q.name, q]));
        this.leases = new Map(data.leases.map((l) => [leaseId(l), l]));
        this.topics = new Map(data.topics.map((t) => [t.name, t]));
        this.variableCount = data.variables.count;
        this.flagCount = data.flags.count;
        this.flagsSet = new Set(data.flags.set);
        this.#queueOps.clear();
        this.recentTasks = data.recentTasks;
        this.recentErrors = data.recentErrors;
        this.history = data.history;
        break;
      case 'tasks':
        this.#addThroughput(data.at, data.totals);
        this.counts = data.counts;
        this.totals = data.totals;
        this.progress = data.progress;
        if (data.ended.length > 0) this.recentTasks = this.recentTasks.concat(data.ended).slice(-RECENT_TASKS);
        this.recentErrors = [...this.recentErrors, ...data.errors].slice(-RECENT_ERRORS);
        for (const w of data.workers) {
          const worker = this.workers.get(w.id);
          if (worker) Object.assign(worker, w);
        }
        break;
      case 'worker': {
        if (data.type === 'stats') {
          // Heartbeat figures, summed up per tick.
          for (const w of data.workers) {
            const worker = this.workers.get(w.id);
            if (worker && worker.leftAt === undefined) Object.assign(worker, w);
          }
          break;
        }
        const worker = data.worker;
        if (data.type === 'joined') this.workers.set(worker.id, worker);
        else this.workers.set(worker.id, { ...worker, processing: 0, leftAt: Date.now() });
        break;
      }
      case 'channel':
        if (data.type === 'deleted') {
          this.channels.delete(data.name);
          this.#appends.delete(data.name);
        } else {
          this.channels.set(data.channel.name, data.channel);
          if (data.type === 'appended') this.#countAppends(data.channel.name, data.count);
        }
        break;
      case 'queues':
        for (const name of data.deleted) {
          this.queues.delete(name);
          this.#queueOps.delete(name);
        }
        for (const { puts, gets, ...queue } of data.changed) {
          this.queues.set(queue.name, queue);
          if (puts > 0 || gets > 0) this.#countQueueOps(queue.name, data.at, puts, gets);
        }
        break;
      case 'leases':
        for (const { acquired: _a, released: _r, expired: _e, ...lease } of data.changed) this.leases.set(leaseId(lease), lease);
        break;
      case 'variables':
        this.variableCount = data.count;
        break;
      case 'flags':
        this.flagCount = data.count;
        for (const name of data.cleared) this.flagsSet.delete(name);
        for (const name of data.set) if (this.flagsSet.size < FLAGS_SHOWN) this.flagsSet.add(name);
        break;
      case 'topics':
        for (const name of data.forgotten) this.topics.delete(name);
        for (const { published: _p, ...topic } of data.changed) this.topics.set(topic.name, topic);
        break;
      default:
        return;
    }
    this.changed();
  }

  /** Workers to show: the connected ones, and those that left in the last minute. */
  visibleWorkers(now = Date.now()): WorkerView[] {
    for (const [id, w] of this.workers) if (w.leftAt !== undefined && now - w.leftAt > LEFT_WORKERS_KEPT_MS) this.workers.delete(id);
    return [...this.workers.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Appends per second over the last few seconds. */
  appendRate(channel: string, now = Date.now()): number {
    const since = Math.floor(now / 1000) - RATE_WINDOW_S;
    const slots = this.#appends.get(channel) ?? [];
    return slots.filter(([second]) => second > since).reduce((sum, [, n]) => sum + n, 0) / RATE_WINDOW_S;
  }

  /** Items put and got per second, over the last few seconds. */
  queueRates(queue: string, now = Date.now()): { puts: number; gets: number } {
    const since = Math.floor(now / 1000) - RATE_WINDOW_S;
    let puts = 0;
    let gets = 0;
    for (const [second, p, g] of this.#queueOps.get(queue) ?? []) {
      if (second <= since) continue;
      puts += p;
      gets += g;
    }
    return { puts: puts / RATE_WINDOW_S, gets: gets / RATE_WINDOW_S };
  }

  /** Throughput from the totals (exact even when a tick lists only some of the tasks that ended). */
  #addThroughput(at: number, totals: Totals): void {
    const finished = totals.finished - this.totals.finished;
    const errors = totals.error + totals.lost - this.totals.error - this.totals.lost;
    if (finished <= 0 && errors <= 0) return;
    const second = Math.floor(at / 1000);
    let slot = this.history[this.history.length - 1];
    if (!slot || slot[0] !== second) {
      slot = [second, 0, 0];
      this.history.push(slot);
      if (this.history.length > HISTORY_S) this.history.shift();
    }
    slot[1] += Math.max(0, finished);
    slot[2] += Math.max(0, errors);
  }

  #countQueueOps(queue: string, at: number, puts: number, gets: number): void {
    const second = Math.floor(at / 1000);
    let slots = this.#queueOps.get(queue);
    if (!slots) this.#queueOps.set(queue, (slots = []));
    const last = slots[slots.length - 1];
    if (last && last[0] === second) {
      last[1] += puts;
      last[2] += gets;
    } else slots.push([second, puts, gets]);
    if (slots.length > RATE_WINDOW_S + 2) slots.shift();
  }

  #countAppends(channel: string, count: number): void {
    const second = Math.floor(Date.now() / 1000);
    let slots = this.#appends.get(channel);
    if (!slots) this.#appends.set(channel, (slots = []));
    const last = slots[slots.length - 1];
    if (last && last[0] === second) last[1] += count;
    else slots.push([second, count]);
    if (slots.length > RATE_WINDOW_S + 2) slots.shift();
  }
}
