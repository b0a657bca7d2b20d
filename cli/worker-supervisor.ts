import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../server/paths.ts';

const BIN = join(PACKAGE_ROOT, 'bin', 'sluice.js');

/**
 * What a supervised worker process and its supervisor say to each other over
 * the IPC channel. A signal the worker process receives comes from outside
 * (the supervisor asks with `stop` instead), so the supervisor can tell an
 * operator's stop from a death.
 */
export type SupervisorMessage = { type: 'stop' };
export type SupervisedMessage =
  /** Its tasks module loaded and it is connecting: from now on a death means a restart. */
  | { type: 'started' }
  /** It was signalled directly: it drains and exits, and is not to be restarted. */
  | { type: 'stopping'; signal: string }
  /** It wants a fresh process (over its memory limit): it exits now, and is to be restarted at once. */
  | { type: 'restart'; reason: string };

/** How a supervised worker process ended. */
export interface WorkerExit {
  name: string;
  pid: number;
  code: number | null;
  signal: string | null;
  /** What the process said before it went (a planned restart). */
  reason?: string;
}

interface Log {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface SupervisorOptions {
  /** The worker's name; it keeps it across restarts. */
  name: string;
  /** Arguments of `sluice worker` after `--no-nanny --name NAME`. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  log: Log;
  /** The process ended on its own (a death, or a planned restart); it is being restarted. */
  onExit(exit: WorkerExit): void;
  /** The process was signalled directly and is stopping: it will not be restarted. */
  onStopRequested?(signal: string): void;
  /**
   * The process ended before it started (its tasks module did not load, a
   * bad flag): starting it again would fail the same way, so it is not.
   */
  onFailedToStart?(exit: WorkerExit): void;
  /** Restart backoff: the first restart after minBackoffMs, doubling for each quick death in a row (default 1 s to 30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A process that ran at least this long before dying resets the backoff. */
const STABLE_MS = 30_000;

/**
 * Runs one worker process and starts it again when it dies (Dask's nanny):
 * out of memory, a native crash, process.exit in a task, a kill from
 * outside. Each death is reported (onExit, which tells the scheduler), and
 * restarts back off from 1 s to 30 s while the process keeps dying quickly.
 * A worker that asks for a fresh process (over its memory limit) is
 * restarted at once. The worker process exits by itself if its supervisor
 * dies (the IPC channel closes).
 */
export class WorkerSupervisor {
  readonly name: string;
  readonly #options: SupervisorOptions;
  readonly #min: number;
  readonly #max: number;
  #child: ChildProcess | undefined;
  #delay: number;
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(options: SupervisorOptions) {
    this.name = options.name;
    this.#options = options;
    this.#min = options.minBackoffMs ?? 1_000;
    this.#max = options.maxBackoffMs ?? 30_000;
    this.#delay = this.#min;
  }

  /** The worker process's pid, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    if (this.#stopping) return;
    const child = spawn(process.execPath, [...process.execArgv, BIN, 'worker', '--no-nanny', '--name', this.name, ...this.#options.args], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: this.#options.env ?? process.env,
    });
    this.#child = child;
    const startedAt = Date.now();
    let said: SupervisedMessage | undefined;
    let started = false;
    child.on('message', (message: SupervisedMessage) => {
      said = message;
      if (message.type === 'started') started = true;
      if (message.type === 'stopping' && !this.#stopping) {
        this.#stopping = true;
        this.#options.log.info({ worker: this.name, signal: message.signal }, 'the worker process was signalled: it stops, and is not restarted');
        this.#options.onStopRequested?.(message.signal);
      }
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        resolve();
        if (this.#stopping) return;
        const pid = child.pid ?? 0;
        const reason = said?.type === 'restart' ? said.reason : undefined;
        if (!started) {
          this.#stopping = true;
          this.#options.log.warn({ worker: this.name, pid, code, signal }, 'the worker process could not start; it is not started again');
          this.#options.onFailedToStart?.({ name: this.name, pid, code, signal });
          return;
        }
        this.#options.onExit({ name: this.name, pid, code, signal, reason });
        let delay = 0;
        if (!reason) {
          if (Date.now() - startedAt >= STABLE_MS) this.#delay = this.#min;
          delay = this.#delay;
          this.#delay = Math.min(this.#delay * 2, this.#max);
        }
        this.#options.log.warn({ worker: this.name, pid, code, signal, reason, restartInMs: delay }, 'the worker process exited; starting it again');
        this.#restartTimer = setTimeout(() => this.start(), delay);
      });
    });
    child.once('error', (error) => this.#options.log.warn({ worker: this.name, err: error }, 'could not start the worker process'));
  }

  /**
   * Ask the worker process to finish its tasks and exit (up to graceMs, then
   * SIGKILL); it is not restarted.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    if (child.connected) child.send({ type: 'stop' } satisfies SupervisorMessage, () => undefined);
    else child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    if (this.#child === child) child.kill('SIGKILL');
    await this.#exited;
  }

  /** End the worker process at once (a second signal). */
  kill(): void {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    this.#child?.kill('SIGKILL');
  }
}
