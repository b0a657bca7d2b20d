import { hostname } from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import type { ClientOptions } from '../client/client.ts';
import { decodeError, errors } from '../client/errors.ts';
import { Client } from '../client/node.ts';
import { Schedulers } from '../client/schedulers.ts';
import type { TaskErrorInfo } from '../schemas/common.ts';
import {
  PROTOCOL_VERSION,
  SchedulerMessage,
  type RunTask,
  type TaskReport,
  type WorkerMessage,
} from '../schemas/worker-protocol.ts';
import { taskStorage, type TaskContext } from './context.ts';
import { catchEscapedErrors } from './escaped-errors.ts';
import type { TaskFunction } from './load-tasks.ts';

export interface WorkerOptions {
  /**
   * The scheduler's URL, http://host:port; or several sharing one store (an
   * array, or comma-separated), of which the worker finds the one that leads
   * and moves to another when it stops serving.
   */
  scheduler: string | readonly string[];
  /** The task functions, by name. */
  functions: Map<string, TaskFunction> | Record<string, TaskFunction>;
  /** How many tasks the scheduler may give this worker at once (default 8). */
  concurrency?: number;
  /** Shown in /workers and logs (default host-pid). */
  name?: string;
  logger?: Logger;
  /** A worker (or admin) token: it opens the worker socket, and getClient()'s client uses it too. */
  token?: string;
  /** Options of the Client that getClient() returns inside tasks. */
  clientOptions?: ClientOptions;
  /** Reconnect backoff bounds (ms). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /**
   * Errors that escape a task (an unhandled rejection, a throw in a timer)
   * fail that task instead of ending the process (default true; see
   * escaped-errors.ts). Installs process-wide handlers while the worker runs.
   */
  catchEscapedErrors?: boolean;
  /**
   * Over this resident set size (bytes) the worker takes no more tasks and,
   * once those it runs have ended, calls `restart` (Dask's memory_limit).
   */
  memoryLimitBytes?: number;
  /** Called once the worker wants a fresh process (over its memory limit, and idle); needed with memoryLimitBytes. */
  restart?: (reason: string) => void;
  /** A supervisor restarts this process when it ends and tells the scheduler how it ended. */
  supervised?: boolean;
}

interface Running {
  key: string;
  attempt: number;
  controller: AbortController;
  /** The connection the task came on; results of an older one are not wanted any more. */
  connection: number;
  seceded: boolean;
}

/**
 * A worker process's runtime: connects to the scheduler over WebSocket,
 * announces its functions, runs what it is given (async functions too) and
 * reports results, errors and heartbeats. It reconnects by itself when the
 * scheduler restarts.
 */
export class Worker {
  readonly name: string;
  readonly concurrency: number;
  readonly #schedulers: Schedulers;
  readonly #functions: Map<string, TaskFunction>;
  readonly #log: Logger;
  readonly #clientOptions: ClientOptions;
  readonly #token: string | undefined;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #running = new Map<string, Running>();
  #reports: TaskReport[] = [];
  #flushScheduled = false;
  #socket: WebSocket | undefined;
  #connection = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #stopping = false;
  #client: Client | undefined;
  #delay: number;
  #onWelcome: Array<() => void> = [];
  #maxResultBytes = Infinity;
  /** The scheduler takes figures in heartbeats and reasons with draining. */
  #workerStats = false;
  #elu: EventLoopUtilization | undefined;
  readonly #memoryLimit: number | undefined;
  readonly #restart: ((reason: string) => void) | undefined;
  readonly #supervised: boolean;
  readonly #catchEscapedErrors: boolean;
  #uncatch: (() => void) | undefined;
  /** Why this worker drains and wants a fresh process (over its memory limit), once set. */
  #restartReason: string | undefined;
  #restartCalled = false;
  /** The id the scheduler gave this worker on its current connection. */
  id: string | undefined;

  constructor(options: WorkerOptions) {
    this.#schedulers = new Schedulers(options.scheduler);
    this.#functions = options.functions instanceof Map ? options.functions : new Map(Object.entries(options.functions));
    this.concurrency = options.concurrency ?? 8;
    this.name = options.name ?? `${hostname()}-${process.pid}`;
    this.#log = options.logger ?? pino({ level: 'info' });
    this.#token = options.token;
    this.#clientOptions = { token: options.token, ...options.clientOptions };
    this.#minDelay = options.reconnectMinMs ?? 100;
    // With several schedulers the next try goes to another one: a failover is over sooner.
    this.#maxDelay = options.reconnectMaxMs ?? (this.#schedulers.several ? 500 : 5_000);
    this.#delay = this.#minDelay;
    this.#memoryLimit = options.memoryLimitBytes;
    this.#restart = options.restart;
    this.#supervised = options.supervised ?? false;
    this.#catchEscapedErrors = options.catchEscapedErrors ?? true;
    if (this.#memoryLimit !== undefined && !this.#restart) throw new TypeError('memoryLimitBytes needs a restart callback: the worker restarts its process when over the limit');
  }

  /** Connect; resolves once the scheduler has welcomed this worker (it keeps retrying until then). */
  start(): Promise<void> {
    const welcomed = new Promise<void>((resolve) => this.#onWelcome.push(resolve));
    if (this.#catchEscapedErrors) this.#uncatch ??= catchEscapedErrors(this.#log);
    this.#connect();
    return welcomed;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running.size;
  }

  /** The Client that getClient() returns inside tasks, created on first use. */
  client(): Client {
    // Made outside the task that asks first: its streams and timers belong to no task.
    this.#client ??= taskStorage.exit(() => new Client(this.#schedulers.all, this.#clientOptions));
    return this.#client;
  }

  /**
   * Stop: tell the scheduler to send nothing more, let running tasks finish
   * (up to graceMs), report them, and disconnect. Tasks still running then
   * are rescheduled by the scheduler.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#sendDraining();
    const deadline = Date.now() + graceMs;
    while (this.#running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.#flushReports();
    clearInterval(this.#heartbeat);
    await this.#client?.close();
    const socket = this.#socket;
    if (socket && socket.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close(1000, 'worker stopping');
        setTimeout(resolve, 1_000).unref();
      });
    }
    socket?.terminate();
    this.#uncatch?.();
    this.#uncatch = undefined;
  }

  #connect(): void {
    const base = this.#schedulers.current;
    const url = `${base.replace(/^http/, 'ws')}/ws/worker`;
    const headers = this.#token ? { authorization: `Bearer ${this.#token}` } : undefined;
    const socket = new WebSocket(url, { maxPayload: 256 * 1024 * 1024, headers });
    const connection = ++this.#connection;
    this.#socket = socket;
    socket.on('open', () => {
      this.#sendMessage({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        name: this.name,
        functions: [...this.#functions.keys()],
        concurrency: this.concurrency,
        pid: process.pid,
      });
    });
    socket.on('message', (data: Buffer) => this.#onMessage(data, connection));
    socket.on('close', (code: number, reason: Buffer) => {
      if (connection !== this.#connection) return;
      clearInterval(this.#heartbeat);
      this.id = undefined;
      this.#abandonRunning('the connection to the scheduler closed');
      if (this.#stopping) return;
      const why = reason.toString() || `code ${code}`;
      this.#log.warn({ code, reason: why, retryInMs: this.#delay }, 'disconnected from the scheduler, reconnecting');
      setTimeout(() => this.#connect(), this.#delay);
      this.#delay = Math.min(this.#delay * 2, this.#maxDelay);
    });
    socket.on('unexpected-response', (request, response) => {
      const status = response.statusCode ?? 0;
      if (status === 401 || status === 403) this.#log.error({ status }, 'the scheduler refused this worker: give it a worker token (--token or SLUICE_TOKEN)');
      else if (status !== 503 || !this.#schedulers.several) this.#log.warn({ status }, 'the scheduler refused the worker connection for now');
      if (status !== 503 || !this.#schedulers.several) {
        socket.terminate();
        return;
      }
      // A standby (or a scheduler shutting down) names the leader in its answer: read it before moving on.
      let body = '';
      let read = false;
      const done = (): void => {
        if (read) return;
        read = true;
        clearTimeout(timer);
        const refusal = decodeError(status, body);
        this.#schedulers.failed(base, refusal);
        this.#log.info({ scheduler: base, code: refusal.code, next: this.#schedulers.current }, 'the scheduler does not serve: trying another');
        socket.terminate();
      };
      const timer = setTimeout(done, 1_000);
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk.slice(0, 4096 - body.length)));
      response.once('end', done);
      response.once('error', done);
    });
    socket.on('error', (error: Error) => {
      if (connection !== this.#connection) return;
      this.#log.debug({ err: error }, 'worker socket error');
      // Not open: the scheduler could not be reached. Another one may serve.
      if (socket.readyState !== WebSocket.OPEN && this.#schedulers.several) this.#schedulers.failed(base, errors.unreachable(base, error.message, ''));
    });
  }

  #onMessage(data: Buffer, connection: number): void {
    if (connection !== this.#connection) return;
    const parsed = SchedulerMessage.safeParse(JSON.parse(data.toString('utf8')));
    if (!parsed.success) {
      this.#log.error({ issues: parsed.error.issues }, 'unexpected message from the scheduler');
      return;
    }
    const message = parsed.data;
    switch (message.type) {
      case 'welcome':
        this.id = message.workerId;
        this.#maxResultBytes = message.maxResultBytes ?? Infinity;
        this.#workerStats = message.workerStats ?? false;
        this.#delay = this.#minDelay;
        clearInterval(this.#heartbeat);
        this.#heartbeat = setInterval(() => this.#beat(), message.heartbeatMs);
        if (this.#schedulers.several) this.#watchPeer(connection, message.heartbeatMs);
        this.#log.info({ workerId: message.workerId, scheduler: this.#schedulers.current, functions: this.#functions.size }, 'connected to the scheduler');
        // The first figures (and whether a supervisor stands behind this process) at once.
        if (this.#workerStats) this.#beat();
        if (this.#stopping || this.#restartReason) this.#sendDraining();
        for (const fn of this.#onWelcome.splice(0)) fn();
        break;
      case 'run':
        for (const task of message.tasks) this.#run(task, connection);
        break;
      case 'cancel':
        for (const item of message.items) {
          const running = this.#running.get(item.key);
          if (!running || running.attempt !== item.attempt) continue;
          this.#running.delete(item.key);
          running.controller.abort(new Error(`task ${item.key} was ${item.reason === 'timeout' ? 'timed out' : item.reason}`));
        }
        break;
    }
  }

  #run(task: RunTask, connection: number): void {
    const running: Running = { key: task.key, attempt: task.attempt, controller: new AbortController(), connection, seceded: false };
    this.#running.set(task.key, running);
    const fn = this.#functions.get(task.fn);
    const context: TaskContext = {
      key: task.key,
      fn: task.fn,
      attempt: task.attempt,
      worker: this.name,
      signal: running.controller.signal,
      client: () => this.client(),
      secede: () => {
        if (running.seceded || this.#running.get(task.key) !== running) return;
        running.seceded = true;
        this.#sendMessage({ type: 'secede', key: task.key, attempt: task.attempt });
      },
      fail: (error, what) => {
        if (this.#running.get(task.key) !== running) return false;
        this.#log.warn({ key: task.key, attempt: task.attempt, err: error }, `task ${task.key} failed: ${what} escaped it`);
        this.#erred(running, describeError(error));
        // Whatever of the task still runs learns that its result is no longer wanted.
        running.controller.abort(error);
        return true;
      },
    };
    const call = async (): Promise<unknown> => {
      if (!fn) throw new Error(`function ${task.fn} is not registered on worker ${this.name}`);
      const args = JSON.parse(task.args) as unknown[];
      if (task.kwargs !== null) args.push(JSON.parse(task.kwargs));
      return await fn(...args);
    };
    taskStorage.run(context, call).then(
      (value) => this.#finished(running, value),
      (error: unknown) => this.#erred(running, describeError(error)),
    );
  }

  #finished(running: Running, value: unknown): void {
    let result: string | undefined;
    try {
      result = JSON.stringify(value === undefined ? null : value);
    } catch (error) {
      this.#erred(running, {
        name: 'TypeError',
        message: `the result of task ${running.key} cannot be sent as JSON: ${(error as Error).message}`,
        traceback: (error as Error).stack ?? '',
      });
      return;
    }
    if (result !== undefined && result.length > this.#maxResultBytes) {
      // The scheduler would refuse it anyway; do not ship it.
      this.#erred(running, {
        name: 'ResultTooLarge',
        message: `the result of task ${running.key} is ${result.length} characters of JSON, over the limit of ${this.#maxResultBytes}`,
        traceback: '',
      });
      return;
    }
    this.#report(running, { key: running.key, attempt: running.attempt, status: 'finished', result: result ?? 'null' });
  }

  #erred(running: Running, error: TaskErrorInfo): void {
    this.#report(running, { key: running.key, attempt: running.attempt, status: 'error', error });
  }

  #report(running: Running, report: TaskReport): void {
    if (this.#running.get(running.key) !== running) return; // cancelled, timed out, or from an old connection
    this.#running.delete(running.key);
    if (this.#restartReason && this.#running.size === 0) queueMicrotask(() => this.#restartIfIdle());
    if (running.connection !== this.#connection) return;
    this.#reports.push(report);
    if (!this.#flushScheduled) {
      // Tasks that end in the same run of microtasks (a batch of synchronous
      // ones) share one frame; none waits for the next turn.
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flushReports());
    }
  }

  #flushReports(): void {
    this.#flushScheduled = false;
    if (this.#reports.length === 0) return;
    const items = this.#reports;
    this.#reports = [];
    this.#sendMessage({ type: 'report', items });
  }

  #abandonRunning(reason: string): void {
    for (const running of this.#running.values()) running.controller.abort(new Error(reason));
    this.#running.clear();
    this.#reports = [];
  }

  /**
   * With several schedulers: ping the scheduler every heartbeat, and drop a
   * connection that has answered nothing for three (at least 5 s) — a
   * leader cut off by the network sends no close, and its socket would
   * otherwise stay open until TCP gives up. The worker then moves on.
   */
  #watchPeer(connection: number, heartbeatMs: number): void {
    const socket = this.#socket as WebSocket;
    const silentMs = Math.max(5_000, 3 * heartbeatMs);
    let heard = performance.now();
    const hear = (): void => {
      heard = performance.now();
    };
    socket.on('pong', hear);
    socket.on('message', hear);
    const timer = setInterval(() => {
      if (connection !== this.#connection || socket.readyState !== WebSocket.OPEN) {
        clearInterval(timer);
        return;
      }
      if (performance.now() - heard > silentMs) {
        clearInterval(timer);
        this.#log.warn({ scheduler: this.#schedulers.current, silentMs }, 'the scheduler has answered nothing: dropping the connection');
        this.#schedulers.failed(this.#schedulers.current, errors.unreachable(this.#schedulers.current, `no answer within ${silentMs} ms`, ''));
        socket.terminate();
        return;
      }
      socket.ping();
    }, heartbeatMs);
    timer.unref();
  }

  /** A heartbeat, with the process's figures if the scheduler takes them; and the memory check. */
  #beat(): void {
    const rssBytes = process.memoryUsage.rss();
    this.#checkMemory(rssBytes);
    if (!this.#workerStats) {
      this.#sendMessage({ type: 'heartbeat' });
      return;
    }
    const elu = performance.eventLoopUtilization();
    const recent = this.#elu ? performance.eventLoopUtilization(elu, this.#elu) : elu;
    this.#elu = elu;
    this.#sendMessage({
      type: 'heartbeat',
      rssBytes,
      eventLoopUtilization: Math.min(1, Math.max(0, Number(recent.utilization.toFixed(4)) || 0)),
      memoryLimitBytes: this.#memoryLimit,
      supervised: this.#supervised || undefined,
    });
  }

  #checkMemory(rssBytes: number): void {
    // Tasks dropped with a lost connection end nothing through #report: check here too.
    if (this.#restartReason) this.#restartIfIdle();
    if (this.#memoryLimit === undefined || this.#restartReason || this.#stopping || rssBytes <= this.#memoryLimit) return;
    this.#restartReason = `over its memory limit: RSS ${rssBytes} bytes, limit ${this.#memoryLimit}`;
    this.#log.warn(
      { rssBytes, memoryLimitBytes: this.#memoryLimit, running: [...this.#running.keys()] },
      'over the memory limit: taking no more tasks, restarting once the running ones end',
    );
    this.#sendDraining();
    this.#restartIfIdle();
  }

  #restartIfIdle(): void {
    if (!this.#restartReason || this.#running.size > 0 || this.#restartCalled) return;
    this.#restartCalled = true;
    this.#flushReports();
    this.#restart?.(this.#restartReason);
  }

  #sendDraining(): void {
    const reason = this.#restartReason ?? (this.#stopping ? 'stopping' : undefined);
    this.#sendMessage(this.#workerStats && reason ? { type: 'draining', reason } : { type: 'draining' });
  }

  #sendMessage(message: WorkerMessage): void {
    const socket = this.#socket;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }
}

const LIMIT = { name: 1024, message: 64 * 1024, traceback: 256 * 1024 };
const RUNTIME_FILE = fileURLToPath(import.meta.url);

/** The stack down to the task function: the runtime's own frames below it say nothing to the user. */
function trimStack(stack: string): string {
  const lines = stack.split('\n');
  const first = lines.findIndex((line, i) => i > 0 && line.includes(RUNTIME_FILE));
  return (first > 0 ? lines.slice(0, first) : lines).join('\n');
}

/** name, message and stack of whatever was thrown, cut to what the protocol carries. */
export function describeError(error: unknown): TaskErrorInfo {
  if (error instanceof Error) {
    return {
      name: (error.name || 'Error').slice(0, LIMIT.name),
      message: String(error.message).slice(0, LIMIT.message),
      traceback: trimStack(error.stack ?? '').slice(0, LIMIT.traceback),
    };
  }
  return { name: 'Error', message: String(error).slice(0, LIMIT.message), traceback: '' };
}
