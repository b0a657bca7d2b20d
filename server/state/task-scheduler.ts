import type { TaskErrorInfo } from '../../schemas/common.ts';
import { Heap } from './heap.ts';
import { dependentHolder, FIRE_AND_FORGET } from './holder-kinds.ts';
import { hasHolder, holderCount, holdersFrom, withHolder, withoutHolder } from './holders.ts';
import type {
  ActiveTask,
  EndedTask,
  NewTask,
  RestoredTask,
  SchedulerEffects,
  StoreLookup,
  TaskOutcome,
  WorkerState,
  WorkerStats,
} from './types.ts';

export interface TaskSchedulerOptions {
  /** A task whose workers died more than this many times is lost. */
  allowedFailures: number;
  now?: () => number;
}

export interface WorkerAnnouncement {
  id: string;
  name: string;
  functions: readonly string[];
  concurrency: number;
  pid?: number;
}

const before = (a: ActiveTask, b: ActiveTask): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;

/**
 * The task state machine and scheduling policy. Pure: events come in as
 * method calls, effects go out through SchedulerEffects; no sockets, no SQL.
 *
 * Only active tasks (waiting, queued, processing) live here. A task that ends
 * leaves this set; the store answers for it afterwards (StoreLookup).
 */
export class TaskScheduler {
  readonly #tasks = new Map<string, ActiveTask>();
  readonly #workers = new Map<string, WorkerState>();
  readonly #workersByFn = new Map<string, Set<WorkerState>>();
  readonly #queuedByFn = new Map<string, Heap<ActiveTask>>();
  readonly #counts: Record<ActiveTask['state'], number> = { waiting: 0, queued: 0, processing: 0 };
  /** The same counts per function; a function leaves when it has no active task. */
  readonly #countsByFn = new Map<string, Record<ActiveTask['state'], number>>();
  readonly #effects: SchedulerEffects;
  readonly #lookup: StoreLookup;
  readonly #allowedFailures: number;
  readonly #now: () => number;
  #seq = 0;
  #pendingBytes = 0;

  constructor(effects: SchedulerEffects, lookup: StoreLookup, options: TaskSchedulerOptions) {
    this.#effects = effects;
    this.#lookup = lookup;
    this.#allowedFailures = options.allowedFailures;
    this.#now = options.now ?? Date.now;
  }

  // ── queries ────────────────────────────────────────────────────────────

  get(key: string): ActiveTask | undefined {
    return this.#tasks.get(key);
  }

  get size(): number {
    return this.#tasks.size;
  }

  /** Characters of the active tasks' keys, function names and arguments (JSON text): what they keep in memory of the caller's. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  workers(): IterableIterator<WorkerState> {
    return this.#workers.values();
  }

  worker(id: string): WorkerState | undefined {
    return this.#workers.get(id);
  }

  /** The next submission number; the store continues it after a restart. */
  get seq(): number {
    return this.#seq;
  }

  set seq(value: number) {
    this.#seq = Math.max(this.#seq, value);
  }

  /** Why a pending task is not running yet, in words for the user. */
  reason(task: ActiveTask): string | undefined {
    if (task.state === 'processing') return undefined;
    if (task.state === 'waiting') {
      const keys = [...(task.waitingOn ?? [])];
      const shown = keys.slice(0, 3).join(', ') + (keys.length > 3 ? `, and ${keys.length - 3} more` : '');
      return `waiting for ${keys.length} ${keys.length === 1 ? 'dependency' : 'dependencies'} to finish: ${shown}`;
    }
    const workers = [...(this.#workersByFn.get(task.fn) ?? [])];
    if (workers.length === 0) return `no connected worker has registered the function '${task.fn}'`;
    if (workers.every((w) => w.draining)) return `every worker that runs '${task.fn}' is draining`;
    return `queued: all ${workers.length} ${workers.length === 1 ? 'worker' : 'workers'} that run '${task.fn}' are busy`;
  }

  /** Counts of active tasks by state, kept as tasks move (no scan). */
  counts(): Readonly<Record<ActiveTask['state'], number>> {
    return this.#counts;
  }

  /** Counts of active tasks by function and state, kept as tasks move (no scan); only functions with active tasks. */
  countsByFunction(): ReadonlyMap<string, Readonly<Record<ActiveTask['state'], number>>> {
    return this.#countsByFn;
  }

  // ── clients ────────────────────────────────────────────────────────────

  /**
   * Submit tasks; each gets every holder in `holders`. A key that is active
   * or has finished or erred is shared (Dask's pure keys); a cancelled or lost
   * one runs again. The caller has checked that every dependency exists and
   * that there is no cycle; `known` has what it already looked up in the store.
   */
  submit(batch: readonly NewTask[], holders: readonly string[], known?: ReadonlyMap<string, EndedTask | undefined>): void {
    const created: ActiveTask[] = [];
    for (const spec of batch) {
      const active = this.#tasks.get(spec.key);
      if (active) {
        for (const holder of holders) this.#addHolder(active, holder);
        continue;
      }
      const ended = known?.has(spec.key) ? known.get(spec.key) : this.#lookup.ended(spec.key);
      if (ended && (ended.status === 'finished' || ended.status === 'error')) {
        for (const holder of holders) if (holder !== FIRE_AND_FORGET) this.#effects.holdAdded(spec.key, holder);
        continue;
      }
      const kept = ended ? this.#lookup.holdersOf(spec.key) : [];
      const task = this.#create(spec, this.#seq++, this.#now(), 0, 0, [...kept, ...holders]);
      created.push(task);
      this.#effects.taskAdded(task);
    }
    this.#link(created);
  }

  /** Bring back the pending tasks of a previous run; they queue until workers join. */
  restore(rows: readonly RestoredTask[]): void {
    const created = rows.map((row) => {
      this.#seq = Math.max(this.#seq, row.seq + 1);
      return this.#create(row, row.seq, row.submittedAt, row.attempt, row.failures, row.holders);
    });
    this.#link(created, false);
  }

  hold(keys: readonly string[], holder: string): void {
    for (const key of keys) {
      const task = this.#tasks.get(key);
      if (task) this.#addHolder(task, holder);
      else this.#effects.holdAdded(key, holder);
    }
  }

  /**
   * A holder lets go. A pending task that nobody holds any more and that no
   * other task needs is cancelled, as in Dask; fire-and-forget tasks are held
   * by `ff` until they end.
   */
  release(keys: readonly string[], holder: string): void {
    for (const key of keys) {
      const task = this.#tasks.get(key);
      if (!task) {
        this.#effects.holdReleased(key, holder);
        continue;
      }
      this.#removeHolder(task, holder);
      this.#cancelIfUnwanted(task);
    }
  }

  /** Cancel an active task and everything waiting for it. Returns false if it was not active. */
  cancel(key: string, reason = 'cancelled on request'): boolean {
    const task = this.#tasks.get(key);
    if (!task) return false;
    if (task.state === 'processing' && task.worker) this.#effects.revoke(task.worker, task, 'cancelled');
    this.#end(task, { status: 'cancelled', reason });
    return true;
  }

  // ── workers ────────────────────────────────────────────────────────────

  workerJoined(announcement: WorkerAnnouncement): WorkerState {
    const now = this.#now();
    const worker: WorkerState = {
      id: announcement.id,
      name: announcement.name,
      functions: new Set(announcement.functions),
      concurrency: announcement.concurrency,
      connectedAt: now,
      lastHeartbeatAt: now,
      running: 0,
      tasks: new Map(),
      draining: false,
      pid: announcement.pid ?? null,
      stats: null,
    };
    this.#workers.set(worker.id, worker);
    for (const fn of worker.functions) {
      let set = this.#workersByFn.get(fn);
      if (!set) this.#workersByFn.set(fn, (set = new Set()));
      set.add(worker);
    }
    this.#fill(worker);
    return worker;
  }

  /**
   * The worker is gone: what it was running goes to another worker, or is
   * lost. `cause` says how it went, if known ("worker w (pid 12) exited with
   * code 3"); a task lost now says it.
   */
  workerLeft(id: string, cause?: string): void {
    const worker = this.#workers.get(id);
    if (!worker) return;
    this.#workers.delete(id);
    for (const fn of worker.functions) {
      const set = this.#workersByFn.get(fn);
      set?.delete(worker);
      if (set?.size === 0) this.#workersByFn.delete(fn);
    }
    for (const task of [...worker.tasks.values()]) {
      worker.tasks.delete(task.key);
      task.worker = null;
      this.#effects.disarmTimeout(task);
      task.failures++;
      if (task.failures > this.#allowedFailures) {
        this.#end(task, {
          status: 'lost',
          error: {
            name: 'LostError',
            message:
              `task ${task.key} was lost: the workers running it died ${task.failures} times ` +
              `(allowedFailures is ${this.#allowedFailures})${cause ? `; the last: ${cause}` : ''}`,
            traceback: '',
          },
        });
      } else {
        this.#effects.taskRestarted(task);
        this.#ready(task);
      }
    }
  }

  heartbeat(id: string, stats?: WorkerStats): void {
    const worker = this.#workers.get(id);
    if (!worker) return;
    worker.lastHeartbeatAt = this.#now();
    if (stats) worker.stats = stats;
  }

  /** Workers whose last heartbeat is older than ttlMs. */
  silentWorkers(ttlMs: number): WorkerState[] {
    const limit = this.#now() - ttlMs;
    return [...this.#workers.values()].filter((w) => w.lastHeartbeatAt < limit);
  }

  draining(id: string): void {
    const worker = this.#workers.get(id);
    if (worker) worker.draining = true;
  }

  taskFinished(workerId: string, key: string, attempt: number, result: string): boolean {
    const task = this.#current(workerId, key, attempt);
    if (!task) return false;
    this.#end(task, { status: 'finished', result });
    return true;
  }

  /** The attempt failed; with `retry` false the task errs even if it has retries left (running it again would fail the same way). */
  taskErred(workerId: string, key: string, attempt: number, error: TaskErrorInfo, retry = true): boolean {
    const task = this.#current(workerId, key, attempt);
    if (!task) return false;
    if (retry) this.#fail(task, error);
    else this.#end(task, { status: 'error', error });
    return true;
  }

  /** The attempt's time limit passed. */
  taskTimedOut(key: string, attempt: number): void {
    const task = this.#tasks.get(key);
    if (!task || task.state !== 'processing' || task.attempt !== attempt || !task.worker) return;
    this.#effects.revoke(task.worker, task, 'timeout');
    this.#fail(task, {
      name: 'TimeoutError',
      message: `task ${key} exceeded its time limit of ${task.timeoutMs} ms (attempt ${attempt})`,
      traceback: '',
    });
  }

  /** A long-running task gives its slot back (Dask's secede). */
  secede(workerId: string, key: string, attempt: number): void {
    const task = this.#current(workerId, key, attempt);
    if (!task || task.seceded || !task.worker) return;
    task.seceded = true;
    task.worker.running--;
    this.#fill(task.worker);
  }

  // ── internals ──────────────────────────────────────────────────────────

  #create(
    spec: NewTask,
    seq: number,
    submittedAt: number,
    attempt: number,
    failures: number,
    holders: readonly string[],
  ): ActiveTask {
    const task: ActiveTask = {
      key: spec.key,
      fn: spec.fn,
      args: spec.args,
      kwargs: spec.kwargs,
      deps: spec.deps,
      priority: spec.priority,
      seq,
      timeoutMs: spec.timeoutMs,
      submittedAt,
      retries: spec.retries,
      state: 'waiting',
      ended: false,
      waitingOn: undefined,
      dependents: undefined,
      holders: holdersFrom(holders),
      worker: null,
      attempt,
      failures,
      startedAt: null,
      seceded: false,
    };
    this.#tasks.set(task.key, task);
    this.#counts.waiting++;
    const byFn = this.#countsByFn.get(task.fn);
    if (byFn) byFn.waiting++;
    else this.#countsByFn.set(task.fn, { waiting: 1, queued: 0, processing: 0 });
    this.#pendingBytes += pendingBytesOf(task);
    return task;
  }

  #move(task: ActiveTask, state: ActiveTask['state']): void {
    this.#counts[task.state]--;
    this.#counts[state]++;
    const byFn = this.#countsByFn.get(task.fn) as Record<ActiveTask['state'], number>;
    byFn[task.state]--;
    byFn[state]++;
    task.state = state;
  }

  /** Wire new tasks to their dependencies, then start those that can start. */
  #link(created: readonly ActiveTask[], persist = true): void {
    const broken = new Map<ActiveTask, TaskOutcome>();
    for (const task of created) {
      for (const dep of task.deps) {
        if (persist) this.#effects.holdAdded(dep, dependentHolder(task.key));
        const active = this.#tasks.get(dep);
        if (active) {
          (active.dependents ??= new Set()).add(task.key);
          (task.waitingOn ??= new Set()).add(dep);
          continue;
        }
        const ended = this.#lookup.ended(dep);
        if (ended?.status === 'finished' || broken.has(task)) continue;
        broken.set(task, inherited(dep, ended));
      }
    }
    for (const task of created) {
      if (task.ended) continue;
      const outcome = broken.get(task);
      if (outcome) this.#end(task, outcome);
      else if (!task.waitingOn?.size) this.#ready(task);
    }
  }

  #addHolder(task: ActiveTask, holder: string): void {
    if (hasHolder(task.holders, holder)) return;
    task.holders = withHolder(task.holders, holder);
    this.#effects.holdAdded(task.key, holder);
  }

  #removeHolder(task: ActiveTask, holder: string): void {
    if (!hasHolder(task.holders, holder)) return;
    task.holders = withoutHolder(task.holders, holder);
    this.#effects.holdReleased(task.key, holder);
  }

  #cancelIfUnwanted(task: ActiveTask): void {
    if (holderCount(task.holders) === 0 && !task.dependents?.size) {
      this.cancel(task.key, 'released by every holder before it finished');
    }
  }

  /** The task that `workerId` is running under `key` in this attempt, if any. */
  #current(workerId: string, key: string, attempt: number): ActiveTask | undefined {
    const task = this.#tasks.get(key);
    if (!task || task.state !== 'processing' || task.worker?.id !== workerId || task.attempt !== attempt) return undefined;
    return task;
  }

  #fail(task: ActiveTask, error: TaskErrorInfo): void {
    if (task.retries > 0) {
      task.retries--;
      this.#leaveWorker(task);
      this.#effects.taskRestarted(task);
      this.#ready(task);
      return;
    }
    this.#end(task, { status: 'error', error });
  }

  /** Dependencies are done: run it now if a worker is free, else queue it. */
  #ready(task: ActiveTask): void {
    const worker = this.#pickWorker(task.fn);
    if (worker) {
      this.#assign(task, worker);
      return;
    }
    this.#move(task, 'queued');
    let heap = this.#queuedByFn.get(task.fn);
    if (!heap) this.#queuedByFn.set(task.fn, (heap = new Heap(before)));
    heap.push(task);
  }

  /** Among the workers that registered fn, the least loaded one with a free slot. */
  #pickWorker(fn: string): WorkerState | undefined {
    const candidates = this.#workersByFn.get(fn);
    if (!candidates) return undefined;
    let best: WorkerState | undefined;
    let bestLoad = Infinity;
    for (const worker of candidates) {
      if (worker.draining || worker.running >= worker.concurrency) continue;
      const load = worker.running / worker.concurrency;
      if (load < bestLoad) {
        best = worker;
        bestLoad = load;
      }
    }
    return best;
  }

  #assign(task: ActiveTask, worker: WorkerState): void {
    this.#move(task, 'processing');
    task.worker = worker;
    task.attempt++;
    task.startedAt = this.#now();
    task.seceded = false;
    worker.running++;
    worker.tasks.set(task.key, task);
    this.#effects.dispatch(worker, task);
    if (task.timeoutMs !== null) this.#effects.armTimeout(task);
  }

  /** Give the worker as many queued tasks as it has free slots, best first. */
  #fill(worker: WorkerState): void {
    while (!worker.draining && worker.running < worker.concurrency) {
      let bestHeap: Heap<ActiveTask> | undefined;
      for (const fn of worker.functions) {
        const heap = this.#queuedByFn.get(fn);
        if (!heap) continue;
        while (heap.size > 0 && !isQueued(heap.peek())) heap.pop();
        const head = heap.peek();
        if (head && (!bestHeap || before(head, bestHeap.peek() as ActiveTask))) bestHeap = heap;
      }
      if (!bestHeap) return;
      this.#assign(bestHeap.pop() as ActiveTask, worker);
    }
  }

  /** The task no longer runs on its worker; the slot goes to the next task. */
  #leaveWorker(task: ActiveTask): void {
    const worker = task.worker;
    if (!worker) return;
    this.#effects.disarmTimeout(task);
    worker.tasks.delete(task.key);
    if (!task.seceded) worker.running--;
    task.worker = null;
    task.seceded = false;
    if (this.#workers.has(worker.id)) this.#fill(worker);
  }

  /**
   * The task ends with `outcome`; so does every active task that depends on
   * it unless it finished. Uses a worklist: a chain of thousands of erring
   * tasks must not overflow the stack.
   */
  #end(first: ActiveTask, firstOutcome: TaskOutcome): void {
    const work: Array<[ActiveTask, TaskOutcome]> = [[first, firstOutcome]];
    while (work.length > 0) {
      const [task, outcome] = work.pop() as [ActiveTask, TaskOutcome];
      if (task.ended) continue;
      task.ended = true;
      this.#counts[task.state]--;
      const byFn = this.#countsByFn.get(task.fn) as Record<ActiveTask['state'], number>;
      byFn[task.state]--;
      if (byFn.waiting + byFn.queued + byFn.processing === 0) this.#countsByFn.delete(task.fn);
      this.#tasks.delete(task.key);
      this.#pendingBytes -= pendingBytesOf(task);
      this.#removeHolder(task, FIRE_AND_FORGET);
      this.#effects.taskEnded(task, outcome);
      this.#leaveWorker(task);
      for (const dep of task.deps) {
        this.#effects.holdReleased(dep, dependentHolder(task.key));
        const active = this.#tasks.get(dep);
        if (!active) continue;
        active.dependents?.delete(task.key);
        if (holderCount(active.holders) === 0 && !active.dependents?.size) {
          if (active.state === 'processing' && active.worker) this.#effects.revoke(active.worker, active, 'cancelled');
          work.push([active, { status: 'cancelled', reason: 'released by every holder before it finished' }]);
        }
      }
      for (const key of task.dependents ?? []) {
        const dependent = this.#tasks.get(key);
        if (!dependent) continue;
        if (outcome.status === 'finished') {
          dependent.waitingOn?.delete(task.key);
          if (!dependent.waitingOn?.size && dependent.state === 'waiting') this.#ready(dependent);
        } else {
          work.push([dependent, inherited(task.key, outcome)]);
        }
      }
    }
  }
}

/** What a pending task keeps of its submission: its key, function name and arguments, as characters (no encoding: they are JSON text already). */
export function pendingBytesOf(task: Pick<NewTask, 'key' | 'fn' | 'args' | 'kwargs'>): number {
  return task.key.length + task.fn.length + task.args.length + (task.kwargs?.length ?? 0);
}

function isQueued(task: ActiveTask | undefined): boolean {
  return task !== undefined && !task.ended && task.state === 'queued';
}

/** What a dependent inherits from a dependency that did not finish. */
function inherited(dep: string, ended: { status: string; error?: TaskErrorInfo | null } | TaskOutcome | undefined): TaskOutcome {
  if (!ended) {
    return {
      status: 'lost',
      error: { name: 'LostError', message: `dependency ${dep} was forgotten before this task could run`, traceback: '' },
    };
  }
  const error = 'error' in ended ? ended.error : null;
  switch (ended.status) {
    case 'error':
      return { status: 'error', error: { ...(error as TaskErrorInfo), key: error?.key ?? dep } };
    case 'lost':
      return {
        status: 'lost',
        error: { name: 'LostError', message: `dependency ${dep} was lost`, traceback: '', key: error?.key ?? dep },
      };
    default:
      return { status: 'cancelled', reason: `dependency ${dep} was cancelled` };
  }
}
