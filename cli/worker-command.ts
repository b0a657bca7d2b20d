import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { pathOf, ROUTES } from '../schemas/routes.ts';
import type { Worker } from '../worker/runtime.ts';
import { type LogFormat, logDestination } from './logging.ts';
import type { SupervisedMessage, SupervisorMessage, WorkerExit } from './worker-supervisor.ts';

// The worker's modules load in the worker process only: the supervisor, which
// runs beside every worker, stays small and starts fast.

export interface WorkerCommandOptions {
  scheduler: string;
  tasks: string;
  concurrency: number;
  name?: string;
  logLevel: string;
  logFormat: LogFormat;
  token?: string;
  /** Over this RSS (bytes) the worker drains and its process is restarted. */
  memoryLimitBytes?: number;
  /** false: run the worker in this process, with no supervisor of its own (--no-nanny). */
  nanny: boolean;
}

/**
 * `sluice worker`: by default a supervisor (Dask's nanny) that runs the
 * worker in a child process and restarts it when it dies, telling the
 * scheduler how it died. With --no-nanny, the worker itself, in this process.
 */
export async function runWorker(options: WorkerCommandOptions): Promise<void> {
  if (options.nanny) await runSupervisor(options);
  else await runWorkerProcess(options);
}

/** The supervisor: one worker process, restarted when it dies; SIGTERM/SIGINT stop both (a second one at once). */
async function runSupervisor(options: WorkerCommandOptions): Promise<void> {
  const { WorkerSupervisor } = await import('./worker-supervisor.ts');
  const name = options.name ?? `${hostname()}-${process.pid}`;
  // The supervisor's lines name the worker themselves (WorkerSupervisor also logs for `sluice up`).
  const logger = await createLogger(options, { supervisor: process.pid });
  const args = ['--scheduler', options.scheduler, '--tasks', options.tasks, '--concurrency', String(options.concurrency), '--log-level', options.logLevel, '--log-format', options.logFormat];
  if (options.memoryLimitBytes !== undefined) args.push('--memory-limit', String(options.memoryLimitBytes));
  const supervisor = new WorkerSupervisor({
    name,
    args,
    // The token goes to the worker process through the environment, not its command line.
    env: { ...process.env, SLUICE_TOKEN: options.token ?? '' },
    log: logger,
    onExit: (exit) => void reportExit(options, exit, logger),
    onStopRequested: () => {
      stopping = true;
      // The worker process drains and exits by itself; this one follows.
      void supervisor.stop(STOP_GRACE_MS).then(() => process.exit(0));
    },
    // Its error is on stderr already (a tasks module that does not load); exit as it did.
    onFailedToStart: (exit) => process.exit(exit.code || 1),
  });
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      supervisor.kill();
      process.exit(1);
    }
    stopping = true;
    logger.info({ worker: name, signal }, 'stopping the worker process: it finishes its running tasks');
    void supervisor.stop(STOP_GRACE_MS).then(() => process.exit(0));
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  supervisor.start();
}

async function createLogger(options: WorkerCommandOptions, base: Record<string, unknown>): Promise<Logger> {
  const destination = await logDestination(options.logFormat);
  return destination ? pino({ level: options.logLevel, base }, destination) : pino({ level: options.logLevel, base });
}

/** How long a stop waits for the worker process before killing it: its own grace for running tasks, and some. */
const STOP_GRACE_MS = 15_000;

/** Tell the scheduler how a worker process ended, so that it logs it and a task lost with it says why. */
async function reportExit(options: WorkerCommandOptions, exit: WorkerExit, log: Logger): Promise<void> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  // With several schedulers, the one that leads takes it: the others answer 503 or cannot be reached.
  const urls = options.scheduler.split(',').map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean);
  for (const [i, url] of urls.entries()) {
    const last = i === urls.length - 1;
    try {
      const response = await fetch(url + pathOf(ROUTES.workerExited), {
        method: 'POST',
        headers,
        body: JSON.stringify(exit),
        signal: AbortSignal.timeout(5_000),
      });
      if (response.status === 503 && !last) continue;
      if (!response.ok) log.warn({ worker: exit.name, status: response.status, body: (await response.text()).slice(0, 300) }, 'the scheduler refused the report of the worker’s exit');
      return;
    } catch (error) {
      if (!last) continue;
      log.warn({ worker: exit.name, err: error }, 'could not tell the scheduler how the worker process exited');
    }
  }
}

/**
 * The worker itself. Under a supervisor (an IPC channel to it), a stop comes
 * as a message, a signal means an operator's stop (the supervisor is told,
 * and does not restart it), and the supervisor's death ends this process too.
 */
async function runWorkerProcess(options: WorkerCommandOptions): Promise<void> {
  const logger = await createLogger(options, { worker: options.name });
  const supervised = typeof process.send === 'function';
  if (options.memoryLimitBytes !== undefined && !supervised) {
    throw new Error('--memory-limit needs the supervisor that restarts the worker process: leave out --no-nanny');
  }
  const tell = (message: SupervisedMessage): Promise<void> =>
    new Promise((resolve) => (process.connected ? process.send?.(message, undefined, {}, () => resolve()) : resolve()));
  let worker: Worker | undefined;
  let stopping = false;
  const stop = (fields: object): void => {
    if (stopping) return;
    stopping = true;
    if (!worker) process.exit(0); // asked before it started: nothing runs yet
    logger.info({ ...fields, running: worker.running }, 'stopping: finishing running tasks');
    void worker.stop().then(() => process.exit(0));
  };
  // A second signal exits at once. (A stop asked by the supervisor is no signal: Ctrl-C in a
  // terminal reaches both processes, and the supervisor passes it on as well.)
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(1);
    signalled = true;
    if (supervised) void tell({ type: 'stopping', signal });
    stop({ signal });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (supervised) {
    process.on('message', (message: SupervisorMessage) => {
      if (message.type === 'stop') stop({ by: 'its supervisor' });
    });
    const supervisorGone = (): void => {
      logger.warn('the supervisor is gone: exiting');
      process.exit(1);
    };
    process.on('disconnect', supervisorGone);
    // It may have died while this process was loading, before anything listened.
    if (!process.connected) supervisorGone();
  }

  const [{ loadTasks }, { Worker }] = await Promise.all([import('../worker/load-tasks.ts'), import('../worker/runtime.ts')]);
  const functions = await loadTasks(options.tasks);
  const running = new Worker({
    scheduler: options.scheduler,
    functions,
    concurrency: options.concurrency,
    name: options.name,
    token: options.token,
    logger,
    supervised,
    memoryLimitBytes: options.memoryLimitBytes,
    restart: (reason) => {
      logger.warn({ reason }, 'restarting the worker process');
      stopping = true;
      void tell({ type: 'restart', reason })
        .then(() => running.stop(0))
        .then(() => process.exit(0));
    },
  });
  worker = running;
  logger.info({ scheduler: options.scheduler, functions: [...functions.keys()], supervised, memoryLimitBytes: options.memoryLimitBytes }, 'worker starting');
  if (supervised) void tell({ type: 'started' });
  await running.start();
}
