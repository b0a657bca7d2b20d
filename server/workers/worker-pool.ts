/**
 * The workers, as the task service sees them: joining and leaving (and the
 * short wait for a supervisor's word on how a process died), heartbeats and
 * missed ones, drain requests, results reported (and the ones refused), and
 * what a worker is sent to run a task (its dependencies' results spliced
 * into its arguments). The sockets themselves are the WorkerHub's; the
 * decisions are the core's (server/state/task-scheduler.ts).
 */
import type { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { TaskErrorInfo } from '../../schemas/common.ts';
import { randomId } from '../../schemas/keys.ts';
import type { HeartbeatMessage, RunTask, TaskReport, WorkerExitReport } from '../../schemas/worker-protocol.ts';
import type { SchedulerConfig } from '../config.ts';
import { checkJsonText } from '../services/json-checks.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { TaskScheduler } from '../state/task-scheduler.ts';
import type { ActiveTask, WorkerState } from '../state/types.ts';
import type { Storage } from '../storage/ports.ts';
import type { TaskEventMap } from '../services/task-events.ts';
import { WorkerHub } from './worker-hub.ts';

/** The settings the workers' side reads (server/config.ts describes each). */
export type WorkerPoolOptions = Pick<SchedulerConfig, 'heartbeatMs' | 'workerTtlMs' | 'maxResultBytes' | 'maxDepth'>;

/** What the pool needs of the task service around it. */
export interface WorkerPoolParts {
  core: TaskScheduler;
  /** Held writes: what a report makes ready goes out before its writes run. */
  storage: Pick<Storage, 'holdingWrites'>;
  /** A stored result (JSON text), for the arguments of the tasks that depend on it. */
  result(key: string): string | undefined;
  lifecycle: Pick<Lifecycle, 'closing'>;
  /** Where worker:joined, worker:left and worker:stats are announced. */
  events: EventEmitter<TaskEventMap>;
  log: FastifyBaseLogger;
  options: WorkerPoolOptions;
}

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

export class WorkerPool {
  /** The open worker sockets, and the messages batched for each. */
  readonly hub = new WorkerHub();
  readonly #core: TaskScheduler;
  readonly #storage: Pick<Storage, 'holdingWrites'>;
  readonly #result: (key: string) => string | undefined;
  readonly #lifecycle: Pick<Lifecycle, 'closing'>;
  readonly #events: EventEmitter<TaskEventMap>;
  readonly #log: FastifyBaseLogger;
  readonly #options: WorkerPoolOptions;
  /** Supervised workers whose connection closed with tasks on them, waiting for the exit report (or the timer). */
  readonly #awaitingExit = new Map<string, NodeJS.Timeout>();
  readonly #recentlyLeft = new Map<string, string[]>();
  /** Exit reports that came while the worker's connection was still open (name\0pid → how it ended). */
  readonly #reportedExits = new Map<string, string>();

  constructor(parts: WorkerPoolParts) {
    this.#core = parts.core;
    this.#storage = parts.storage;
    this.#result = parts.result;
    this.#lifecycle = parts.lifecycle;
    this.#events = parts.events;
    this.#log = parts.log;
    this.#options = parts.options;
  }

  joined(socket: WebSocket, hello: { name: string; functions: string[]; concurrency: number; pid?: number }): WorkerState {
    const id = `w-${randomId().slice(0, 12)}`;
    this.hub.add(id, socket);
    this.hub.send(id, {
      type: 'welcome',
      workerId: id,
      heartbeatMs: this.#options.heartbeatMs,
      maxResultBytes: this.#options.maxResultBytes,
      workerStats: true,
    });
    const worker = this.#core.workerJoined({ id, ...hello });
    if (this.#lifecycle.closing) this.#core.draining(id);
    this.#log.info({ workerId: id, name: hello.name, pid: hello.pid, functions: hello.functions.length, concurrency: hello.concurrency }, 'worker joined');
    this.#events.emit('worker:joined', worker);
    return worker;
  }

  /** `cause`, if known, says how it went; a task lost now says it. */
  left(workerId: string, reason: string, cause?: string): void {
    const worker = this.#core.worker(workerId);
    this.hub.remove(workerId);
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
    this.#core.workerLeft(workerId, cause);
    this.#log.info({ workerId, name: worker.name, tasks: worker.tasks.size, reason }, 'worker left');
    this.#events.emit('worker:left', worker);
  }

  /**
   * The worker's connection closed (WebSocket close `code`). A supervised
   * worker whose connection ended without a close frame (1006) while it ran
   * tasks has probably died: its supervisor will say how (exited), and
   * its tasks wait for that, briefly, so that a task lost now can say why.
   */
  disconnected(workerId: string, code: number): void {
    const worker = this.#core.worker(workerId);
    this.hub.remove(workerId);
    if (!worker) return;
    const reported = worker.pid !== null && this.#reportedExits.has(`${worker.name}\0${worker.pid}`);
    if (reported || code !== 1006 || !worker.stats?.supervised || worker.tasks.size === 0 || this.#lifecycle.closing) {
      this.left(workerId, reported ? 'its process exited' : 'connection closed');
      return;
    }
    this.#core.draining(workerId);
    const timer = setTimeout(() => this.left(workerId, 'connection closed; no word from its supervisor'), EXIT_REPORT_WAIT_MS);
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
  exited(report: WorkerExitReport): { workerId: string | null; tasks: string[] } {
    const how = report.signal ? `was killed by ${report.signal}` : `exited with code ${report.code}`;
    const cause = `worker ${report.name} (pid ${report.pid}) ${how}${report.reason ? ` (${report.reason})` : ''}`;
    let worker: WorkerState | undefined;
    for (const candidate of this.#core.workers()) if (candidate.name === report.name && candidate.pid === report.pid) worker = candidate;
    const tasks = worker ? [...worker.tasks.keys()] : (this.#recentlyLeft.get(`${report.name}\0${report.pid}`) ?? []);
    const log = tasks.length > 0 && !report.reason ? this.#log.warn.bind(this.#log) : this.#log.info.bind(this.#log);
    log({ workerId: worker?.id, name: report.name, pid: report.pid, code: report.code, signal: report.signal, reason: report.reason, tasks }, 'worker exited');
    if (worker && this.#awaitingExit.has(worker.id)) this.left(worker.id, 'its process exited', cause);
    else if (worker) remember(this.#reportedExits, `${report.name}\0${report.pid}`, cause);
    return { workerId: worker?.id ?? null, tasks };
  }

  heartbeat(workerId: string, message: HeartbeatMessage): void {
    const { type: _, ...stats } = message;
    const withStats = stats.rssBytes !== undefined || stats.eventLoopUtilization !== undefined;
    this.#core.heartbeat(workerId, withStats ? stats : undefined);
    if (!withStats) return;
    const worker = this.#core.worker(workerId);
    if (worker) this.#events.emit('worker:stats', worker);
  }

  /** Drop the workers that missed their heartbeats (run on a timer by the task service). */
  checkHeartbeats(): void {
    for (const worker of this.#core.silentWorkers(this.#options.workerTtlMs)) {
      this.#log.warn({ workerId: worker.id, name: worker.name }, 'worker missed its heartbeats, dropping it');
      this.hub.close(worker.id, 4000, 'missed heartbeats');
      this.left(worker.id, 'missed heartbeats');
    }
  }

  /** A running task gives its slot back while it waits on other tasks (its worker's secede message). */
  secede(workerId: string, key: string, attempt: number): void {
    this.#core.secede(workerId, key, attempt);
  }

  /** The worker takes no new tasks; the log says why, and what it still runs. */
  draining(workerId: string, reason?: string): void {
    const worker = this.#core.worker(workerId);
    if (!worker) return;
    if (!worker.draining || reason) {
      const rssBytes = worker.stats?.rssBytes;
      this.#log.info({ workerId, name: worker.name, reason: reason ?? 'stopping', tasks: [...worker.tasks.keys()], rssBytes }, 'worker draining');
    }
    this.#core.draining(workerId);
  }

  /** Shutdown: no worker gets anything new. */
  drainAll(): void {
    for (const worker of this.#core.workers()) this.#core.draining(worker.id);
  }

  /** Tasks running on workers now. */
  processing(): number {
    let n = 0;
    for (const worker of this.#core.workers()) n += worker.tasks.size;
    return n;
  }

  /** Results from a worker. What they make ready goes out before their writes run (Storage.holdingWrites). */
  report(workerId: string, items: readonly TaskReport[]): void {
    this.#storage.holdingWrites(() => this.#report(workerId, items), this.hub.flush);
  }

  #report(workerId: string, items: readonly TaskReport[]): void {
    for (const item of items) {
      if (item.status === 'error') {
        this.#core.taskErred(workerId, item.key, item.attempt, item.error);
        continue;
      }
      const refused = this.#refuseResult(workerId, item.key, item.result);
      if (refused) this.#core.taskErred(workerId, item.key, item.attempt, refused, false);
      else this.#core.taskFinished(workerId, item.key, item.attempt, item.result);
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
    const from = (): string => `worker ${this.#core.worker(workerId)?.name ?? '?'} (${workerId})`;
    const { maxResultBytes, maxDepth } = this.#options;
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
    this.#log.warn({ workerId, worker: this.#core.worker(workerId)?.name, key, at: problem.at }, 'a worker reported a result that is not JSON; its task errs with BadResult');
    return {
      name: 'BadResult',
      message: `${from()} reported a result for task ${key} that is not valid JSON (at character ${problem.at}: ${JSON.stringify(result.slice(problem.at, problem.at + 20))}); the report was refused`,
      traceback: '',
    };
  }

  /**
   * Hand a task to its worker (the core's dispatch effect). Nothing may
   * throw from here into the state machine, which is midway through
   * assigning the task: a task whose arguments cannot be made fails on its
   * own, just after.
   */
  dispatch(worker: WorkerState, task: ActiveTask): void {
    let run: RunTask;
    try {
      run = this.#runTask(task);
    } catch (error) {
      this.#log.error({ err: error, key: task.key, workerId: worker.id }, 'could not make a task’s arguments to send it');
      const { key, attempt } = task;
      queueMicrotask(() =>
        this.#core.taskErred(worker.id, key, attempt, { name: 'DispatchError', message: `task ${key} could not be sent to a worker: ${String(error)}`, traceback: '' }, false),
      );
      return;
    }
    this.hub.run(worker.id, run);
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
        const result = this.#result(dep);
        if (result === undefined) this.#log.error({ key: task.key, dep }, 'dependency result missing at dispatch');
        values.set(dep, result ?? 'null');
      }
      const resolve = (ref: string, key: string): string => values.get(key) ?? ref;
      args = args.replace(FUTURE_REF_TEXT, resolve);
      if (kwargs !== null) kwargs = kwargs.replace(FUTURE_REF_TEXT, resolve);
    }
    return { key: task.key, fn: task.fn, args, kwargs, attempt: task.attempt, timeoutMs: task.timeoutMs };
  }
}

/** A dependency reference as JSON.stringify writes it; the key is the first group. */
const FUTURE_REF_TEXT = /\{"\$future":"([^"\\]*)"\}/g;
