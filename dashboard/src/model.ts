/**
 * The dashboard's picture of the cluster, kept from the /events firehose.
 * Events change it at once; the view redraws at most once per animation
 * frame, however many events arrive.
 */

export interface WorkerView {
  id: string;
  name: string;
  functions: string[];
  concurrency: number;
  processing: number;
  draining: boolean;
  connectedAt: string;
  lastHeartbeatAt: string;
  /** Set when it disconnected; it stays listed, greyed, for a while. */
  leftAt?: number;
}

export interface ChannelView {
  name: string;
  length: number;
  maxlen: number | null;
  stopped: boolean;
  lastSeq: number;
}

export interface TaskRecord {
  key: string;
  fn: string;
  worker: string | null;
  status: string;
  startedAt: number | null;
  finishedAt: number;
}

export interface ErrorRecord extends TaskRecord {
  error: { name: string; message: string; traceback: string; key?: string };
}

export type Counts = Record<'waiting' | 'queued' | 'processing', number>;
export type Totals = Record<'submitted' | 'finished' | 'error' | 'cancelled' | 'lost', number>;

const RECENT_TASKS = 3000;
const RECENT_ERRORS = 20;
const HISTORY_S = 300;
const RATE_WINDOW_S = 10;
const LEFT_WORKERS_KEPT_MS = 60_000;

export class Model {
  connection: 'connecting' | 'live' | 'reconnecting' = 'connecting';
  /** When the dashboard noticed that the scheduler had restarted. */
  restartedAt: number | null = null;
  version = '';
  startedAt = '';
  counts: Counts = { waiting: 0, queued: 0, processing: 0 };
  totals: Totals = { submitted: 0, finished: 0, error: 0, cancelled: 0, lost: 0 };
  workers = new Map<string, WorkerView>();
  channels = new Map<string, ChannelView>();
  recentTasks: TaskRecord[] = [];
  recentErrors: ErrorRecord[] = [];
  /** [second, finished, errors] */
  history: Array<[number, number, number]> = [];
  /** Per channel: [second, appended] for the rate. */
  readonly #appends = new Map<string, Array<[number, number]>>();
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

  apply(event: string, data: any): void {
    switch (event) {
      case 'snapshot':
        if (data.restarted) this.restartedAt = Date.now();
        this.version = data.version;
        this.startedAt = data.startedAt;
        this.counts = data.counts;
        this.totals = data.totals;
        this.workers = new Map(data.workers.map((w: WorkerView) => [w.id, w]));
        this.channels = new Map(data.channels.map((c: ChannelView) => [c.name, c]));
        this.#appends.clear();
        this.recentTasks = data.recentTasks;
        this.recentErrors = data.recentErrors;
        this.history = data.history;
        break;
      case 'tasks':
        this.#addThroughput(data.at, data.totals);
        this.counts = data.counts;
        this.totals = data.totals;
        if (data.ended.length > 0) this.recentTasks = this.recentTasks.concat(data.ended as TaskRecord[]).slice(-RECENT_TASKS);
        this.recentErrors = [...this.recentErrors, ...(data.errors as ErrorRecord[])].slice(-RECENT_ERRORS);
        for (const w of data.workers as Array<{ id: string; processing: number; lastHeartbeatAt: string }>) {
          const worker = this.workers.get(w.id);
          if (worker) Object.assign(worker, w);
        }
        break;
      case 'worker': {
        const worker = data.worker as WorkerView;
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
