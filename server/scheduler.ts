import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { FutureStatus, TaskErrorInfo } from '../schemas/common.ts';
import { findDependencies, pureKey, randomId, randomKey } from '../schemas/keys.ts';
import type { TaskSpec } from '../schemas/tasks.ts';
import type { HeartbeatMessage, RunTask, TaskReport, WorkerExitReport } from '../schemas/worker-protocol.ts';
import { ClientSessions } from './client-sessions.ts';
import type { SchedulerConfig } from './config.ts';
import type { Caller, Holds } from './holds.ts';
import { errors, type SluiceError } from './errors.ts';
import { checkJsonText, nestsDeeper } from './json-checks.ts';
import { fromOutcome, fromRow, outcomeJson, type OutcomeRecord, withRawResult } from './outcomes.ts';
import { type Presence, ReplyDeliveries } from './reply-delivery.ts';
import { SessionCredentials } from './session-credentials.ts';
import { sseFrame } from './sse/sse-stream.ts';
import { StreamLimits } from './sse/stream-limits.ts';
import { clientHolder, FIRE_AND_FORGET, type HolderId, parseClientHolder } from './state/holder-kinds.ts';
import { hasHolder, listHolders } from './state/holders.ts';
import { pendingBytesOf, TaskScheduler } from './state/task-scheduler.ts';
import type { ActiveTask, EndedTask, NewTask, SchedulerEffects, TaskOutcome, WorkerState } from './state/types.ts';
import type { Lifecycle, Service } from './lifecycle.ts';
import type { Storage } from './storage/ports.ts';
import type { SessionStore } from './storage/sqlite/session-store.ts';
import type { StorageHealth } from './storage/storage-health.ts';
import type { TaskStore } from './storage/sqlite/task-store.ts';
import type { ClusterView, SubmitTasks, TaskEventMap } from './task-events.ts';
import { WaitingCalls } from './wait-line.ts';
import { WorkerHub } from './workers/worker-hub.ts';

/** The settings the scheduler service reads (server/config.ts describes each). */
export type SchedulerOptions = Pick<
  SchedulerConfig,
  | 'retentionMs'
  | 'clientLeaseMs'
  | 'maxSessionsPerToken'
  | 'allowedFailures'
  | 'heartbeatMs'
  | 'workerTtlMs'
  | 'inlineResultBytes'
  | 'maxBatch'
  | 'sweepIntervalMs'
  | 'sseMaxBufferedBytes'
  | 'sseMaxBufferedBytesTotal'
  | 'maxSsePerClient'
  | 'maxSsePerToken'
  | 'maxSse'
  | 'maxPending'
  | 'maxPendingBytes'
  | 'maxWaitingCalls'
  | 'maxReplyBytes'
  | 'maxResultBytes'
  | 'maxDepth'
  | 'sessionTtlMs'
>;

/**
 * How long the tasks of a supervised worker whose connection closed wait for
 * its supervisor to say how the process ended, before they are rescheduled
 * without knowing (the supervisor's report comes within milliseconds).
 */
const EXIT_REPORT_WAIT_MS = 2_000;
/** Workers that left recently, by name and pid, so that a late exit report still names their tasks. */
const RECENTLY_LEFT = 256;

/** Set key in a map kept to RECENTLY_LEFT entries, the oldest going first. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= RECENTLY_LEFT) break;
    map.delete(oldest);
  }
}

/** What the scheduler service keeps its state in. */
export interface SchedulerStores {
  storage: Storage;
  tasks: TaskStore;
  sessions: SessionStore;
  /** Whether the store takes writes (kept by the process across the apps it builds). */
  health?: StorageHealth;
}

/**
 * The scheduler service: it owns the pure scheduling core, the store and the
 * connections, and offers the operations that routes and the worker socket
 * call. It implements the core's effects: persist through the store, send
 * through the worker hub, and announce what ended once it is committed.
 */
export class Scheduler implements Service, SubmitTasks {
  /** The tasks table (and holds, forgotten keys). */
  readonly tasks: TaskStore;
  readonly core: TaskScheduler;
  readonly workers = new WorkerHub();
  readonly clients: ClientSessions;
  /** Issues and checks client session credentials. */
  readonly sessions: SessionCredentials;
  /** Replies that carry something taken for their caller (queue items, lease grants), until it is known whether they were written. */
  readonly deliveries = new ReplyDeliveries();
  /** Opens SSE streams within the per-caller limits. */
  readonly streams: StreamLimits;
  readonly events = new EventEmitter<TaskEventMap>();
  /** Callers waiting at once, across every kind of wait (--max-waiting-calls). */
  readonly waiting: WaitingCalls;
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
  /** The commit point, and the writes held while work goes out to workers. */
  readonly #storage: Storage;
  readonly startedAt = Date.now();
  /** The cluster now, read-only (the firehose, the metrics). */
  readonly cluster: ClusterView = {
    startedAt: this.startedAt,
    counts: () => this.core.counts(),
    countsByFunction: () => this.core.countsByFunction(),
    workers: () => this.core.workers(),
  };
  readonly #log: FastifyBaseLogger;
  readonly #timeouts = new Map<string, NodeJS.Timeout>();
  readonly #waiters = new Map<string, Set<(outcome: OutcomeRecord) => void>>();
  readonly #timers: NodeJS.Timeout[] = [];
  #ended: Array<{ task: ActiveTask; outcome: TaskOutcome; worker: string | null; startedAt: number | null; finishedAt: number }> = [];
  #submitted = 0;
  /** Supervised workers whose connection closed with tasks on them, waiting for the exit report (or the timer). */
  readonly #awaitingExit = new Map<string, NodeJS.Timeout>();
  readonly #recentlyLeft = new Map<string, string[]>();
  /** Exit reports that came while the worker's connection was still open (name\0pid → how it ended). */
  readonly #reportedExits = new Map<string, string>();
  readonly #lifecycle: Lifecycle;

  constructor(stores: SchedulerStores, lifecycle: Lifecycle, options: SchedulerOptions, log: FastifyBaseLogger) {
    this.#lifecycle = lifecycle;
    this.#storage = stores.storage;
    this.tasks = stores.tasks;
    this.options = options;
    this.health = stores.health;
    this.#log = log;
    this.core = new TaskScheduler(this.#effects, stores.tasks, { allowedFailures: options.allowedFailures });
    this.sessions = new SessionCredentials(stores.sessions, { maxPerIdentity: options.maxSessionsPerToken });
    this.clients = new ClientSessions(options.clientLeaseMs, (clientId) => {
      this.#log.info({ clientId }, 'client session idle longer than its lease: ending it, releasing its futures');
      this.endClient(clientId);
    });
    this.events.setMaxListeners(0);
    this.waiting = new WaitingCalls(options.maxWaitingCalls);
    this.streams = new StreamLimits({
      maxPerSession: options.maxSsePerClient,
      maxPerToken: options.maxSsePerToken,
      maxTotal: options.maxSse,
      maxBufferedBytes: options.sseMaxBufferedBytes,
      maxBufferedBytesTotal: options.sseMaxBufferedBytesTotal,
    });
  }

  /** Bring back what a previous run left pending, and start the periodic chores. */
  start(): void {
    const pending = this.tasks.pending();
    this.core.restore(pending);
    // Sessions of a previous run (and holders from before sessions were credentials) get a lease from now.
    for (const clientId of new Set([...this.sessions.ids(), ...this.tasks.clientIds()])) this.clients.touch(clientId);
    if (pending.length > 0) this.#log.info({ tasks: pending.length }, 'restored pending tasks');
    let sweeping = false;
    const sweep = setInterval(() => {
      if (sweeping || this.health?.writable === false) return;
      sweeping = true;
      void this.sweep().finally(() => (sweeping = false));
    }, this.options.sweepIntervalMs);
    const heartbeat = setInterval(() => this.#checkHeartbeats(), Math.max(50, Math.min(this.options.heartbeatMs, this.options.workerTtlMs / 4)));
    for (const timer of [sweep, heartbeat]) {
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /** Whether shutdown has begun (the app's lifecycle drains). */
  get closing(): boolean {
    return this.#lifecycle.closing;
  }

  // ── tasks ──────────────────────────────────────────────────────────────

  /**
   * Submit tasks. Returns their keys; the caller acknowledges once
   * `store.committed()` resolves. Throws, changing nothing, if a dependency
   * is unknown, a key names a task of another function, or there is a cycle.
   */
  submit(specs: readonly TaskSpec[], caller: Caller, fireAndForget = false): string[] {
    this.assertOpen();
    if (specs.length > this.options.maxBatch) throw errors.tooLarge(`a batch of ${specs.length} tasks`, this.options.maxBatch);
    if (this.core.size + specs.length > this.options.maxPending) {
      throw errors.tooManyPending(this.core.size, this.options.maxPending);
    }
    specs.forEach((spec, i) => {
      if (nestsDeeper(spec.args, this.options.maxDepth)) throw errors.tooDeep(`body.tasks[${i}].args`, this.options.maxDepth);
      if (nestsDeeper(spec.kwargs, this.options.maxDepth)) throw errors.tooDeep(`body.tasks[${i}].kwargs`, this.options.maxDepth);
    });
    const batch: NewTask[] = specs.map((spec) => ({
      key: spec.key ?? (spec.pure ? pureKey(spec.fn, spec.args, spec.kwargs) : randomKey(spec.fn)),
      fn: spec.fn,
      args: JSON.stringify(spec.args),
      kwargs: spec.kwargs === undefined ? null : JSON.stringify(spec.kwargs),
      deps: findDependencies(spec.args, spec.kwargs),
      priority: spec.priority,
      retries: spec.retries,
      timeoutMs: spec.timeoutMs ?? null,
    }));
    this.#checkPendingBytes(batch);
    const known = this.#checkBatch(batch);
    const holders: HolderId[] = [];
    if (caller.clientId) holders.push(clientHolder(caller.clientId));
    if (fireAndForget || !caller.clientId) holders.push(FIRE_AND_FORGET);
    this.#storage.holdingWrites(() => this.core.submit(batch, holders, known), this.workers.flush);
    if (caller.clientId) {
      this.clients.touch(caller.clientId);
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
        if (row) this.clients.send(clientId, sseFrame('status', outcomeJson(fromRow(row), this.options.inlineResultBytes)));
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
    if (caller.clientId) this.clients.touch(caller.clientId);
    return out.map((o) => o.key);
  }

  /** GET /futures/:key as JSON text. */
  infoJson(key: string): string {
    const task = this.core.get(key);
    if (task) {
      return JSON.stringify({
        key,
        fn: task.fn,
        status: 'pending',
        state: task.state,
        worker: task.worker?.name,
        reason: this.core.reason(task),
        priority: task.priority,
        attempt: task.attempt,
        submittedAt: iso(task.submittedAt),
        startedAt: task.startedAt === null ? undefined : iso(task.startedAt),
      });
    }
    const row = this.tasks.task(key);
    if (!row) throw this.#missing(key);
    const { result, ...outcome } = fromRow(row);
    return withRawResult(
      {
        ...outcome,
        fn: row.fn,
        state: row.status,
        worker: row.worker ?? undefined,
        priority: row.priority,
        attempt: row.attempt,
        submittedAt: iso(row.submitted_at),
        startedAt: row.started_at === null ? undefined : iso(row.started_at),
        finishedAt: row.finished_at === null ? undefined : iso(row.finished_at),
      },
      result,
    );
  }

  /** The outcome of an ended task, undefined while pending; throws for an unknown key. */
  outcome(key: string): OutcomeRecord | undefined {
    if (this.core.get(key)) return undefined;
    const row = this.tasks.task(key);
    if (!row) throw this.#missing(key);
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
    if (!ended) throw this.#missing(key);
    return ended.status;
  }

  /** Wait until the task ends, up to timeoutMs (or until the caller leaves); a pending task holds one waiting call meanwhile. */
  async waitForOutcome(key: string, timeoutMs: number, presence?: Presence): Promise<OutcomeRecord> {
    const now = this.outcome(key);
    if (now) return now;
    const ended = await this.#waitEnded([key], timeoutMs, presence, `task ${key}`, true);
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
    if (pending.size > 0) await this.#waitEnded([...pending], timeoutMs, presence, `${keys.length} keys`, false);
  }

  /** Wait for pending keys to end; answers the outcomes (when `keep`) of those that ended meanwhile. */
  #waitEnded(keys: readonly string[], timeoutMs: number, presence: Presence | undefined, what: string, keep: boolean): Promise<Map<string, OutcomeRecord>> {
    if (timeoutMs <= 0) return Promise.reject(errors.timedOut(what, 0));
    if (presence?.gone) return Promise.reject(errors.callerGone());
    this.assertOpen();
    const giveBack = this.waiting.take(keys.length);
    return new Promise((resolve, reject) => {
      const ended = new Map<string, OutcomeRecord>();
      const stops: Array<() => void> = [];
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        giveBack();
        clearTimeout(timer);
        for (const stop of stops) stop();
        if (error) reject(error);
        else resolve(ended);
      };
      let left = keys.length;
      for (const key of keys) {
        let set = this.#waiters.get(key);
        if (!set) this.#waiters.set(key, (set = new Set()));
        const waiters = set;
        const done = (outcome: OutcomeRecord): void => {
          if (keep) ended.set(key, outcome);
          waiters.delete(done);
          if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
          if (--left === 0) finish();
        };
        waiters.add(done);
        stops.push(() => {
          waiters.delete(done);
          if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        });
      }
      const timer = setTimeout(() => finish(errors.timedOut(what, timeoutMs / 1000)), timeoutMs);
      stops.push(this.#lifecycle.onDrain(() => finish(errors.shuttingDown())));
      if (presence) stops.push(presence.onGone(() => finish(errors.callerGone())));
    });
  }

  /** Cancel a pending task (and what depends on it). Answers the status it ends with. */
  cancel(key: string): OutcomeRecord['status'] {
    if (this.core.cancel(key)) return 'cancelled';
    const outcome = this.outcome(key);
    return outcome ? outcome.status : 'pending';
  }

  /** Whether the client session holds a pending task (an ended one: always, as there is nothing left to guard). */
  isHeldBy(key: string, clientId: string | undefined): boolean {
    const task = this.core.get(key);
    return !task || (clientId !== undefined && hasHolder(task.holders, clientHolder(clientId)));
  }

  /** A client holds these keys (Dask: a Future object for a known key). Answers their outcomes so far. */
  hold(keys: readonly string[], clientId: string): OutcomeRecord[] {
    this.assertOpen();
    this.#assertBatch(keys.length);
    const outcomes = keys.map((key) => (this.core.get(key) ? { key, status: 'pending' as const } : this.outcome(key) as OutcomeRecord));
    this.core.hold(keys, clientHolder(clientId));
    this.clients.touch(clientId);
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
      this.clients.touch(caller.clientId);
    } else {
      this.fireAndForget(keys);
    }
  }

  /** End a client session (its owner said goodbye, an admin ended it, or it was idle past its lease): its streams close, its credential stops working, its holds go. */
  endClient(clientId: string): void {
    this.clients.end(clientId);
    this.sessions.end(clientId);
    this.releaseClient(clientId);
  }

  /** Release everything the client session held. */
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

  // ── workers ────────────────────────────────────────────────────────────

  workerJoined(socket: WebSocket, hello: { name: string; functions: string[]; concurrency: number; pid?: number }): WorkerState {
    const id = `w-${randomId().slice(0, 12)}`;
    this.workers.add(id, socket);
    this.workers.send(id, {
      type: 'welcome',
      workerId: id,
      heartbeatMs: this.options.heartbeatMs,
      maxResultBytes: this.options.maxResultBytes,
      workerStats: true,
    });
    const worker = this.core.workerJoined({ id, ...hello });
    if (this.#lifecycle.closing) this.core.draining(id);
    this.#log.info({ workerId: id, name: hello.name, pid: hello.pid, functions: hello.functions.length, concurrency: hello.concurrency }, 'worker joined');
    this.events.emit('worker:joined', worker);
    return worker;
  }

  /** `cause`, if known, says how it went; a task lost now says it. */
  workerLeft(workerId: string, reason: string, cause?: string): void {
    const worker = this.core.worker(workerId);
    this.workers.remove(workerId);
    const waiting = this.#awaitingExit.get(workerId);
    if (waiting) clearTimeout(waiting);
    this.#awaitingExit.delete(workerId);
    if (!worker) return;
    if (worker.pid !== null) {
      const id = `${worker.name}\0${worker.pid}`;
      cause ??= this.#reportedExits.get(id);
      this.#reportedExits.delete(id);
      remember(this.#recentlyLeft, id, [...worker.tasks.keys()]);
    }
    this.core.workerLeft(workerId, cause);
    this.#log.info({ workerId, name: worker.name, tasks: worker.tasks.size, reason }, 'worker left');
    this.events.emit('worker:left', worker);
  }

  /**
   * The worker's connection closed (WebSocket close `code`). A supervised
   * worker whose connection ended without a close frame (1006) while it ran
   * tasks has probably died: its supervisor will say how (workerExited), and
   * its tasks wait for that, briefly, so that a task lost now can say why.
   */
  workerDisconnected(workerId: string, code: number): void {
    const worker = this.core.worker(workerId);
    this.workers.remove(workerId);
    if (!worker) return;
    const reported = worker.pid !== null && this.#reportedExits.has(`${worker.name}\0${worker.pid}`);
    if (reported || code !== 1006 || !worker.stats?.supervised || worker.tasks.size === 0 || this.#lifecycle.closing) {
      this.workerLeft(workerId, reported ? 'its process exited' : 'connection closed');
      return;
    }
    this.core.draining(workerId);
    const timer = setTimeout(() => this.workerLeft(workerId, 'connection closed; no word from its supervisor'), EXIT_REPORT_WAIT_MS);
    timer.unref();
    this.#awaitingExit.set(workerId, timer);
  }

  /**
   * A supervisor says how a worker process ended (POST /workers/exited). The
   * scheduler logs it with the tasks it was running, and a task lost with it
   * says how it died. A report does not end a connection: a worker whose
   * connection is still open leaves when it closes (it does when a process
   * dies), so a mistaken or hostile report cannot take tasks from a live
   * worker.
   */
  workerExited(report: WorkerExitReport): { workerId: string | null; tasks: string[] } {
    const how = report.signal ? `was killed by ${report.signal}` : `exited with code ${report.code}`;
    const cause = `worker ${report.name} (pid ${report.pid}) ${how}${report.reason ? ` (${report.reason})` : ''}`;
    let worker: WorkerState | undefined;
    for (const candidate of this.core.workers()) if (candidate.name === report.name && candidate.pid === report.pid) worker = candidate;
    const tasks = worker ? [...worker.tasks.keys()] : (this.#recentlyLeft.get(`${report.name}\0${report.pid}`) ?? []);
    const log = tasks.length > 0 && !report.reason ? this.#log.warn.bind(this.#log) : this.#log.info.bind(this.#log);
    log({ workerId: worker?.id, name: report.name, pid: report.pid, code: report.code, signal: report.signal, reason: report.reason, tasks }, 'worker exited');
    if (worker && this.#awaitingExit.has(worker.id)) this.workerLeft(worker.id, 'its process exited', cause);
    else if (worker) remember(this.#reportedExits, `${report.name}\0${report.pid}`, cause);
    return { workerId: worker?.id ?? null, tasks };
  }

  heartbeat(workerId: string, message: HeartbeatMessage): void {
    const { type: _, ...stats } = message;
    const withStats = stats.rssBytes !== undefined || stats.eventLoopUtilization !== undefined;
    this.core.heartbeat(workerId, withStats ? stats : undefined);
    if (!withStats) return;
    const worker = this.core.worker(workerId);
    if (worker) this.events.emit('worker:stats', worker);
  }

  /** The worker takes no new tasks; the log says why, and what it still runs. */
  workerDraining(workerId: string, reason?: string): void {
    const worker = this.core.worker(workerId);
    if (!worker) return;
    if (!worker.draining || reason) {
      const rssBytes = worker.stats?.rssBytes;
      this.#log.info({ workerId, name: worker.name, reason: reason ?? 'stopping', tasks: [...worker.tasks.keys()], rssBytes }, 'worker draining');
    }
    this.core.draining(workerId);
  }

  /** Results from a worker. What they make ready goes out before their writes run (Storage.holdingWrites). */
  report(workerId: string, items: readonly TaskReport[]): void {
    this.#storage.holdingWrites(() => this.#report(workerId, items), this.workers.flush);
  }

  #report(workerId: string, items: readonly TaskReport[]): void {
    for (const item of items) {
      if (item.status === 'error') {
        this.core.taskErred(workerId, item.key, item.attempt, item.error);
        continue;
      }
      const refused = this.#refuseResult(workerId, item.key, item.result);
      if (refused) this.core.taskErred(workerId, item.key, item.attempt, refused, false);
      else this.core.taskFinished(workerId, item.key, item.attempt, item.result);
    }
  }

  /**
   * Why a reported result cannot be stored, if it cannot. A result is JSON
   * text spliced as it is into replies and into its dependants' arguments,
   * so it must be exactly one JSON value, within the size and depth limits.
   * A refused result fails its task for good: running it again would give
   * the same.
   */
  #refuseResult(workerId: string, key: string, result: string): TaskErrorInfo | undefined {
    const from = (): string => `worker ${this.core.worker(workerId)?.name ?? '?'} (${workerId})`;
    const { maxResultBytes, maxDepth } = this.options;
    if (result.length > maxResultBytes) {
      return {
        name: 'ResultTooLarge',
        message: `the result of task ${key} from ${from()} is ${result.length} characters of JSON, over the limit of ${maxResultBytes} (--max-result-bytes)`,
        traceback: '',
      };
    }
    const problem = checkJsonText(result, maxDepth);
    if (!problem) return undefined;
    if (problem.kind === 'depth') {
      return {
        name: 'ResultTooDeep',
        message: `the result of task ${key} from ${from()} nests more than ${maxDepth} levels deep, over the limit (--max-depth)`,
        traceback: '',
      };
    }
    this.#log.warn({ workerId, worker: this.core.worker(workerId)?.name, key, at: problem.at }, 'a worker reported a result that is not JSON; its task errs with BadResult');
    return {
      name: 'BadResult',
      message: `${from()} reported a result for task ${key} that is not valid JSON (at character ${problem.at}: ${JSON.stringify(result.slice(problem.at, problem.at + 20))}); the report was refused`,
      traceback: '',
    };
  }

  // ── shutdown ───────────────────────────────────────────────────────────

  /**
   * Stop taking work and let what runs finish, up to graceMs (the Lifecycle
   * calls it once it refuses new requests, 503, and has ended the waits):
   * session streams end, workers get nothing new.
   */
  async drain(graceMs: number): Promise<void> {
    this.clients.closeAll();
    for (const worker of this.core.workers()) this.core.draining(worker.id);
    const deadline = Date.now() + graceMs;
    while (this.#processing() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // A failed commit has already answered its writers: there is nothing left to wait for.
    await this.#storage.committed().catch(() => undefined);
  }

  /** End every SSE stream and worker socket (before the server waits for the requests in flight). */
  disconnect(): void {
    this.clients.closeAll();
    this.workers.closeAll(1001, 'scheduler shutting down');
  }

  /**
   * Settle the replies still awaiting their verdict and stop the timers. The
   * Lifecycle calls it after drain(), disconnect() and once every request has
   * ended (SchedulerHost waits for them), so that every reply is finished or
   * never will be; the storage, closed after this, commits what a written
   * reply carried.
   */
  close(): void {
    this.streams.backlog.stop();
    this.deliveries.settleAll();
    for (const timer of this.#timers) clearInterval(timer);
    for (const timer of this.#timeouts.values()) clearTimeout(timer);
    this.#timeouts.clear();
  }

  // ── internals ──────────────────────────────────────────────────────────

  #processing(): number {
    let n = 0;
    for (const worker of this.core.workers()) n += worker.tasks.size;
    return n;
  }

  /** Throws 413 for more keys in one request than --max-batch. */
  #assertBatch(count: number): void {
    if (count > this.options.maxBatch) throw errors.tooLarge(`a request with ${count} keys`, this.options.maxBatch);
  }

  /** Throws 503 once shutdown has begun. */
  assertOpen(): void {
    this.#lifecycle.assertOpen();
  }

  #missing(key: string): SluiceError {
    return this.tasks.isForgotten(key) ? errors.forgottenKey(key) : errors.unknownKey(key);
  }

  /**
   * The batch's keys, names and arguments fit in what pending tasks may keep
   * (--max-pending-bytes). Counted as submitted, so a key already pending
   * counts again here: the check errs on the side of refusing.
   */
  #checkPendingBytes(batch: readonly NewTask[]): void {
    const limit = this.options.maxPendingBytes;
    let bytes = 0;
    for (const task of batch) bytes += pendingBytesOf(task);
    if (bytes > limit) {
      throw errors.batchNeverFits(bytes, limit);
    }
    const held = this.core.pendingBytes;
    if (held + bytes > limit) {
      throw errors.pendingBytesFull(held, bytes, limit);
    }
  }

  /** Dependencies exist, keys do not name other functions' tasks, no cycles. */
  #checkBatch(batch: readonly NewTask[]): Map<string, EndedTask | undefined> {
    const byKey = new Map(batch.map((t) => [t.key, t]));
    const known = new Map<string, EndedTask | undefined>();
    for (const task of batch) {
      let existing: { fn: string } | undefined = this.core.get(task.key);
      if (!existing) {
        const ended = this.tasks.ended(task.key);
        known.set(task.key, ended);
        existing = ended;
      }
      if (existing && existing.fn !== task.fn) throw errors.keyConflict(task.key, `a task of ${existing.fn}`);
      for (const dep of task.deps) {
        if (dep === task.key) {
          throw errors.selfDependency(task.key);
        }
        if (byKey.has(dep) || this.core.get(dep) || this.tasks.ended(dep)) continue;
        throw errors.missingDependency(dep, task.key, this.tasks.isForgotten(dep));
      }
    }
    const cycle = findCycle(byKey);
    if (cycle) {
      throw errors.dependencyCycle(cycle);
    }
    return known;
  }

  #checkHeartbeats(): void {
    for (const worker of this.core.silentWorkers(this.options.workerTtlMs)) {
      this.#log.warn({ workerId: worker.id, name: worker.name }, 'worker missed its heartbeats, dropping it');
      this.workers.close(worker.id, 4000, 'missed heartbeats');
      this.workerLeft(worker.id, 'missed heartbeats');
    }
  }

  /**
   * What a worker gets: the arguments with each {"$future": key} replaced by
   * that key's result. Both are JSON text, and the results are spliced in as
   * they are, without decoding: args and kwargs are JSON.stringify's output
   * (submit), where a reference is always the exact text {"$future":"<key>"}
   * (a key has no character JSON escapes, and a quote inside a string is
   * always escaped, so the text cannot occur inside one), and every stored
   * result is one checked JSON value.
   */
  #runTask(task: ActiveTask): RunTask {
    let { args, kwargs } = task;
    if (task.deps.length > 0) {
      const values = new Map<string, string>();
      for (const dep of task.deps) {
        const result = this.tasks.result(dep);
        if (result === undefined) this.#log.error({ key: task.key, dep }, 'dependency result missing at dispatch');
        values.set(dep, result ?? 'null');
      }
      const resolve = (ref: string, key: string): string => values.get(key) ?? ref;
      args = args.replace(FUTURE_REF_TEXT, resolve);
      if (kwargs !== null) kwargs = kwargs.replace(FUTURE_REF_TEXT, resolve);
    }
    return { key: task.key, fn: task.fn, args, kwargs, attempt: task.attempt, timeoutMs: task.timeoutMs };
  }

  /**
   * Hand a task to its worker. Nothing may throw from here into the state
   * machine, which is midway through assigning the task: a task whose
   * arguments cannot be made fails on its own, just after.
   */
  #dispatch(worker: WorkerState, task: ActiveTask): void {
    let run: RunTask;
    try {
      run = this.#runTask(task);
    } catch (error) {
      this.#log.error({ err: error, key: task.key, workerId: worker.id }, 'could not make a task’s arguments to send it');
      const { key, attempt } = task;
      queueMicrotask(() =>
        this.core.taskErred(worker.id, key, attempt, { name: 'DispatchError', message: `task ${key} could not be sent to a worker: ${String(error)}`, traceback: '' }, false),
      );
      return;
    }
    this.workers.run(worker.id, run);
  }

  /** Announce ended tasks once their outcome is committed. */
  readonly #announceEnded = (): void => {
    const ended = this.#ended;
    this.#ended = [];
    for (const { task, outcome, worker, startedAt, finishedAt } of ended) {
      const record = fromOutcome(task.key, outcome);
      const waiters = this.#waiters.get(task.key);
      if (waiters) for (const done of [...waiters]) done(record);
      const holders = [...listHolders(task.holders)];
      let frame: string | undefined;
      for (const holder of holders) {
        const clientId = parseClientHolder(holder);
        if (clientId === undefined) continue;
        frame ??= sseFrame('status', outcomeJson(record, this.options.inlineResultBytes));
        this.clients.send(clientId, frame);
      }
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
    dispatch: (worker, task) => this.#dispatch(worker, task),
    revoke: (worker, task, reason) => this.workers.cancel(worker.id, task.key, task.attempt, reason),
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

/** A dependency reference as JSON.stringify writes it; the key is the first group. */
const FUTURE_REF_TEXT = /\{"\$future":"([^"\\]*)"\}/g;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A dependency cycle among the batch's tasks, as a list of keys, if there is one. */
function findCycle(byKey: ReadonlyMap<string, NewTask>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  for (const start of byKey.keys()) {
    if (state.has(start)) continue;
    const path: string[] = [];
    const stack: Array<{ key: string; next: number }> = [{ key: start, next: 0 }];
    state.set(start, 'visiting');
    path.push(start);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      const deps = byKey.get(frame.key)?.deps ?? [];
      if (frame.next >= deps.length) {
        state.set(frame.key, 'done');
        stack.pop();
        path.pop();
        continue;
      }
      const dep = deps[frame.next++];
      if (!byKey.has(dep)) continue;
      const seen = state.get(dep);
      if (seen === 'visiting') return [...path.slice(path.indexOf(dep)), dep];
      if (seen === 'done') continue;
      state.set(dep, 'visiting');
      path.push(dep);
      stack.push({ key: dep, next: 0 });
    }
  }
  return undefined;
}

