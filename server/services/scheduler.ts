/**
 * The task service: it owns the pure scheduling core (server/state/), the
 * tasks table and the workers, and offers the operations on tasks and
 * futures that routes, the worker socket and other services call: submit,
 * scatter, hold, release, cancel, wait, forget. It implements the core's
 * effects — persist through the task store, send through the worker pool,
 * announce what ended once it is committed — and the ports other services
 * receive (Holds, TaskEvents, SubmitTasks, ClusterView). Beside it:
 * task-intake.ts (the checks a batch passes), task-waits.ts (callers
 * waiting for outcomes), workers/worker-pool.ts (the workers' side),
 * client-sessions.ts (the sessions it tells of their futures).
 */
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { FutureStatus } from '../../schemas/common.ts';
import { pureKey } from '../../schemas/keys.ts';
import type { TaskSpec } from '../../schemas/tasks.ts';
import type { SessionNotices } from './client-sessions.ts';
import type { SchedulerConfig } from '../config.ts';
import { errors } from '../errors.ts';
import type { Caller, Holds } from './holds.ts';
import type { Lifecycle, Service } from '../lifecycle.ts';
import { fromOutcome, fromRow, missingKey, type OutcomeRecord } from './outcomes.ts';
import type { Presence } from '../http/reply-delivery.ts';
import { statusFrame } from '../http/sse/sse-stream.ts';
import { clientHolder, FIRE_AND_FORGET, type HolderId } from '../state/holder-kinds.ts';
import { hasHolder, listHolders } from '../state/holders.ts';
import { TaskScheduler } from '../state/task-scheduler.ts';
import type { ActiveTask, NewTask, SchedulerEffects, TaskOutcome } from '../state/types.ts';
import type { Storage } from '../storage/ports.ts';
import type { TaskStore } from '../storage/sqlite/task-store.ts';
import type { StorageHealth } from '../storage/storage-health.ts';
import type { ClusterView, SubmitTasks, TaskEventMap } from './task-events.ts';
import { checkBatch, checkPendingBytes, newTasks } from './task-intake.ts';
import { TaskWaits } from './task-waits.ts';
import type { WaitingCalls } from './wait-line.ts';
import { WorkerPool } from '../workers/worker-pool.ts';

/** The settings the task service reads (server/config.ts describes each). */
export type SchedulerOptions = Pick<
  SchedulerConfig,
  | 'retentionMs'
  | 'allowedFailures'
  | 'heartbeatMs'
  | 'workerTtlMs'
  | 'inlineResultBytes'
  | 'maxBatch'
  | 'sweepIntervalMs'
  | 'maxPending'
  | 'maxPendingBytes'
  | 'maxResultBytes'
  | 'maxDepth'
>;

/** What the task service keeps its state in, and what it is given of the app around it. */
export interface SchedulerParts {
  storage: Storage;
  tasks: TaskStore;
  /** Whether the store takes writes (kept by the process across the apps it builds). */
  health?: StorageHealth;
  lifecycle: Lifecycle;
  /** The budget of callers waiting at once (--max-waiting-calls), which waits for outcomes take from. */
  waiting: WaitingCalls;
  /** The client sessions, told of the futures they hold as they end. */
  sessions: SessionNotices;
  log: FastifyBaseLogger;
}

export class Scheduler implements Service, SubmitTasks {
  /** The tasks table (and holds, forgotten keys). */
  readonly tasks: TaskStore;
  readonly core: TaskScheduler;
  /** The workers: joining, leaving, heartbeats, reports (the worker socket calls it). */
  readonly workers: WorkerPool;
  readonly events = new EventEmitter<TaskEventMap>();
  readonly options: SchedulerOptions;
  /** The holds that services keeping futures (channel entries, queue items, variables) take and let go. */
  readonly holds: Holds = {
    hold: (keys, holder) => this.core.hold(keys, holder),
    release: (keys, holder) => this.core.release(keys, holder),
    giveTo: (keys, caller) => this.#giveTo(keys, caller),
    knownStatus: (key) => this.knownStatus(key),
    status: (key) => (this.core.get(key) ? 'pending' : this.tasks.ended(key)?.status),
  };
  /** Whether the store takes writes. */
  readonly health: StorageHealth | undefined;
  readonly startedAt = Date.now();
  /** The cluster now, read-only (the firehose, the metrics). */
  readonly cluster: ClusterView = {
    startedAt: this.startedAt,
    counts: () => this.core.counts(),
    countsByFunction: () => this.core.countsByFunction(),
    workers: () => this.core.workers(),
  };
  /** The commit point, and the writes held while work goes out to workers. */
  readonly #storage: Storage;
  readonly #lifecycle: Lifecycle;
  readonly #sessions: SessionNotices;
  readonly #waits: TaskWaits;
  readonly #log: FastifyBaseLogger;
  readonly #timeouts = new Map<string, NodeJS.Timeout>();
  readonly #timers: NodeJS.Timeout[] = [];
  #ended: Array<{ task: ActiveTask; outcome: TaskOutcome; worker: string | null; startedAt: number | null; finishedAt: number }> = [];
  #submitted = 0;

  constructor(parts: SchedulerParts, options: SchedulerOptions) {
    this.#storage = parts.storage;
    this.#lifecycle = parts.lifecycle;
    this.#sessions = parts.sessions;
    this.#log = parts.log;
    this.tasks = parts.tasks;
    this.health = parts.health;
    this.options = options;
    this.core = new TaskScheduler(this.#effects, parts.tasks, { allowedFailures: options.allowedFailures });
    this.workers = new WorkerPool({
      core: this.core,
      storage: parts.storage,
      result: (key) => this.tasks.result(key),
      lifecycle: parts.lifecycle,
      events: this.events,
      log: parts.log,
      options,
    });
    this.#waits = new TaskWaits(parts.waiting, parts.lifecycle);
    this.events.setMaxListeners(0);
  }

  /** Bring back what a previous run left pending, and start the periodic chores. */
  start(): void {
    const pending = this.tasks.pending();
    this.core.restore(pending);
    if (pending.length > 0) this.#log.info({ tasks: pending.length }, 'restored pending tasks');
    let sweeping = false;
    const sweep = setInterval(() => {
      if (sweeping || this.health?.writable === false) return;
      sweeping = true;
      void this.sweep().finally(() => (sweeping = false));
    }, this.options.sweepIntervalMs);
    const heartbeat = setInterval(() => this.workers.checkHeartbeats(), Math.max(50, Math.min(this.options.heartbeatMs, this.options.workerTtlMs / 4)));
    for (const timer of [sweep, heartbeat]) {
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /** Whether shutdown has begun (the app's lifecycle drains). */
  get closing(): boolean {
    return this.#lifecycle.closing;
  }

  /** Throws 503 once shutdown has begun. */
  assertOpen(): void {
    this.#lifecycle.assertOpen();
  }

  // ── tasks ──────────────────────────────────────────────────────────────

  /**
   * Submit tasks. Returns their keys; the caller acknowledges once
   * `store.committed()` resolves. Throws, changing nothing, if a dependency
   * is unknown, a key names a task of another function, or there is a cycle.
   */
  submit(specs: readonly TaskSpec[], caller: Caller, fireAndForget = false): string[] {
    this.assertOpen();
    const batch = newTasks(specs, this.core.size, this.options);
    checkPendingBytes(batch, this.core.pendingBytes, this.options.maxPendingBytes);
    const known = checkBatch(batch, { active: (key) => this.core.get(key), ended: (key) => this.tasks.ended(key), isForgotten: (key) => this.tasks.isForgotten(key) });
    const holders: HolderId[] = [];
    if (caller.clientId) holders.push(clientHolder(caller.clientId));
    if (fireAndForget || !caller.clientId) holders.push(FIRE_AND_FORGET);
    this.#storage.holdingWrites(() => this.core.submit(batch, holders, known), this.workers.hub.flush);
    if (caller.clientId) {
      this.#sessions.touch(caller.clientId);
      this.#announceAlreadyEnded(batch, caller.clientId);
    }
    return batch.map((t) => t.key);
  }

  /**
   * A submitted key that had already finished or erred (a pure task someone
   * ran before) is not run again; its outcome goes to the new holder as it
   * would have had the task ended now.
   */
  #announceAlreadyEnded(batch: readonly NewTask[], clientId: string): void {
    const ended = batch.filter((task) => !this.core.get(task.key)).map((task) => task.key);
    if (ended.length === 0) return;
    this.#storage.afterCommit(() => {
      for (const key of ended) {
        const row = this.core.get(key) ? undefined : this.tasks.task(key);
        if (row) this.#sessions.send(clientId, statusFrame(fromRow(row), this.options.inlineResultBytes));
      }
    });
  }

  /** Values given by the caller, stored as finished futures. */
  scatter(values: readonly unknown[], keys: readonly string[] | undefined, caller: Caller): string[] {
    this.assertOpen();
    if (values.length > this.options.maxBatch) throw errors.tooLarge(`a scatter of ${values.length} values`, this.options.maxBatch);
    if (keys && keys.length !== values.length) {
      throw errors.scatterKeysMismatch(keys.length, values.length);
    }
    const holder = caller.clientId ? clientHolder(caller.clientId) : null;
    const out = values.map((value, i) => {
      const key = keys?.[i] ?? pureKey('data', value);
      if (this.core.get(key)) throw errors.keyConflict(key, 'a pending task');
      return { key, value };
    });
    for (const { key } of out) {
      const row = this.tasks.ended(key);
      if (row && row.fn !== 'scatter') throw errors.keyConflict(key, `a task of ${row.fn}`);
    }
    for (const { key, value } of out) {
      if (this.tasks.ended(key)) {
        if (holder) this.tasks.addHold(key, holder);
      } else {
        this.tasks.insertValue(key, JSON.stringify(value), holder);
      }
    }
    if (caller.clientId) this.#sessions.touch(caller.clientId);
    return out.map((o) => o.key);
  }

  /** The outcome of an ended task, undefined while pending; throws for an unknown key. */
  outcome(key: string): OutcomeRecord | undefined {
    if (this.core.get(key)) return undefined;
    const row = this.tasks.task(key);
    if (!row) throw missingKey(key, this.tasks);
    return fromRow(row);
  }

  /** The outcome of a key now: pending, ended, or undefined if the key is unknown or forgotten. */
  peekOutcome(key: string): OutcomeRecord | undefined {
    if (this.core.get(key)) return { key, status: 'pending' };
    const row = this.tasks.task(key);
    return row ? fromRow(row) : undefined;
  }

  /** Throws 404 (unknown or forgotten) unless the key names a task or a value. */
  assertKnown(key: string): void {
    this.knownStatus(key);
  }

  /** Throws for an unknown key; an ended key's final status, undefined while it is active. */
  knownStatus(key: string): FutureStatus | undefined {
    if (this.core.get(key)) return undefined;
    const ended = this.tasks.ended(key);
    if (!ended) throw missingKey(key, this.tasks);
    return ended.status;
  }

  /** Wait until the task ends, up to timeoutMs (or until the caller leaves); a pending task holds one waiting call meanwhile. */
  async waitForOutcome(key: string, timeoutMs: number, presence?: Presence): Promise<OutcomeRecord> {
    const now = this.outcome(key);
    if (now) return now;
    const ended = await this.#waits.wait([key], timeoutMs, presence, `task ${key}`, true);
    return ended.get(key) ?? (this.outcome(key) as OutcomeRecord);
  }

  /**
   * Wait until every one of the keys has ended, up to timeoutMs (or until the
   * caller leaves). Throws 404 for an unknown key first. Each key still
   * pending holds a waiting call meanwhile; the outcomes are not kept (read
   * them afterwards, one at a time).
   */
  async waitUntilEnded(keys: readonly string[], timeoutMs: number, presence?: Presence): Promise<void> {
    const pending = new Set<string>();
    for (const key of keys) if (this.knownStatus(key) === undefined) pending.add(key);
    if (pending.size > 0) await this.#waits.wait([...pending], timeoutMs, presence, `${keys.length} keys`, false);
  }

  /** Cancel a pending task (and what depends on it). Answers the status it ends with. */
  cancel(key: string): OutcomeRecord['status'] {
    if (this.core.cancel(key)) return 'cancelled';
    const outcome = this.outcome(key);
    return outcome ? outcome.status : 'pending';
  }

  // ── holds ──────────────────────────────────────────────────────────────

  /** Whether the client session holds a pending task (an ended one: always, as there is nothing left to guard). */
  isHeldBy(key: string, clientId: string | undefined): boolean {
    const task = this.core.get(key);
    return !task || (clientId !== undefined && hasHolder(task.holders, clientHolder(clientId)));
  }

  /** A client holds these keys (Dask: a Future object for a known key). Answers their outcomes so far. */
  hold(keys: readonly string[], clientId: string): OutcomeRecord[] {
    this.assertOpen();
    this.#assertBatch(keys.length);
    const outcomes = keys.map((key) => (this.core.get(key) ? { key, status: 'pending' as const } : (this.outcome(key) as OutcomeRecord)));
    this.core.hold(keys, clientHolder(clientId));
    this.#sessions.touch(clientId);
    return outcomes;
  }

  /** A client lets go of these keys. */
  release(keys: readonly string[], clientId: string): void {
    this.#assertBatch(keys.length);
    this.core.release(keys, clientHolder(clientId));
  }

  /** Keep these pending tasks running even when no client holds them. */
  fireAndForget(keys: readonly string[]): void {
    for (const key of keys) this.assertKnown(key);
    this.core.hold(
      keys.filter((key) => this.core.get(key)),
      FIRE_AND_FORGET,
    );
  }

  #giveTo(keys: readonly string[], caller: Caller): void {
    if (keys.length === 0) return;
    if (caller.clientId) {
      this.core.hold(keys, clientHolder(caller.clientId));
      this.#sessions.touch(caller.clientId);
    } else {
      this.fireAndForget(keys);
    }
  }

  /** Release everything the client session held (it ended), and announce its end (client:ended). */
  releaseClient(clientId: string): void {
    const holder = clientHolder(clientId);
    // Active tasks may need cancelling, one by one; the ended ones, often
    // thousands, are let go in a few statements.
    this.core.release(this.tasks.keysHeldBy(holder).filter((key) => this.core.get(key)), holder);
    this.tasks.releaseHolder(holder);
    this.events.emit('client:ended', clientId);
  }

  /**
   * Forget every ended task whose retention period is over, a chunk per
   * event-loop turn so that a large backlog does not stall the scheduler.
   */
  async sweep(chunk = 5_000): Promise<number> {
    let total = 0;
    for (;;) {
      const forgotten = this.tasks.sweep(chunk).length;
      total += forgotten;
      if (forgotten < chunk || this.#lifecycle.closing) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (total > 0) this.#log.debug({ keys: total }, 'forgot expired keys');
    return total;
  }

  // ── shutdown ───────────────────────────────────────────────────────────

  /**
   * Stop taking work and let what runs finish, up to graceMs (the Lifecycle
   * calls it once it refuses new requests, 503, and has ended the waits):
   * workers get nothing new.
   */
  async drain(graceMs: number): Promise<void> {
    this.workers.drainAll();
    const deadline = Date.now() + graceMs;
    while (this.workers.processing() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // A failed commit has already answered its writers: there is nothing left to wait for.
    await this.#storage.committed().catch(() => undefined);
  }

  /** End every worker socket (before the server waits for the requests in flight). */
  disconnect(): void {
    this.workers.hub.closeAll(1001, 'scheduler shutting down');
  }

  /** Stop the timers (the Lifecycle calls it once every request has ended). */
  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    for (const timer of this.#timeouts.values()) clearTimeout(timer);
    this.#timeouts.clear();
  }

  // ── internals ──────────────────────────────────────────────────────────

  /** Throws 413 for more keys in one request than --max-batch. */
  #assertBatch(count: number): void {
    if (count > this.options.maxBatch) throw errors.tooLarge(`a request with ${count} keys`, this.options.maxBatch);
  }

  /** Announce ended tasks once their outcome is committed: to waiters, to the sessions holding them, then as task:ended. */
  readonly #announceEnded = (): void => {
    const ended = this.#ended;
    this.#ended = [];
    for (const { task, outcome, worker, startedAt, finishedAt } of ended) {
      const record = fromOutcome(task.key, outcome);
      this.#waits.ended(task.key, record);
      const holders = [...listHolders(task.holders)];
      this.#sessions.sendToHolders(holders, () => statusFrame(record, this.options.inlineResultBytes));
      this.events.emit('task:ended', { key: task.key, fn: task.fn, outcome: record, holders, worker, startedAt, finishedAt });
    }
  };

  readonly #effects: SchedulerEffects = {
    taskAdded: (task) => {
      this.tasks.insertTask(task);
      if (this.#submitted++ === 0) {
        this.#storage.afterCommit(() => {
          this.events.emit('task:submitted', this.#submitted);
          this.#submitted = 0;
        });
      }
    },
    taskEnded: (task, outcome) => {
      const finishedAt = Date.now();
      this.tasks.endTask(task, outcome, finishedAt);
      const entry = { task, outcome, worker: task.worker?.name ?? null, startedAt: task.startedAt, finishedAt };
      if (this.#ended.push(entry) === 1) this.#storage.afterCommit(this.#announceEnded);
    },
    taskRestarted: (task) => this.tasks.restartTask(task),
    holdAdded: (key, holder) => this.tasks.addHold(key, holder),
    holdReleased: (key, holder) => this.tasks.releaseHold(key, holder),
    dispatch: (worker, task) => this.workers.dispatch(worker, task),
    revoke: (worker, task, reason) => this.workers.hub.cancel(worker.id, task.key, task.attempt, reason),
    armTimeout: (task) => {
      const { key, attempt } = task;
      const timer = setTimeout(() => {
        this.#timeouts.delete(key);
        this.core.taskTimedOut(key, attempt);
      }, task.timeoutMs ?? 0);
      this.#timeouts.set(key, timer);
    },
    disarmTimeout: (task) => {
      const timer = this.#timeouts.get(task.key);
      if (timer) {
        clearTimeout(timer);
        this.#timeouts.delete(task.key);
      }
    },
  };
}
