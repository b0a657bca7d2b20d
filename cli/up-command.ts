import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SchedulerConfig } from '../server/config.ts';
import { PACKAGE_ROOT } from '../server/paths.ts';
import { onSignals, shutdown, startScheduler } from './scheduler-command.ts';

const BIN = join(PACKAGE_ROOT, 'bin', 'sluice.js');

export interface UpOptions {
  workers: number;
  tasks?: string;
  concurrency: number;
}

/**
 * A local cluster (Dask's LocalCluster): the scheduler in this process and N
 * worker processes beside it, restarted if they die. On SIGTERM the workers
 * finish what they run first, then the scheduler closes.
 */
export async function runUp(config: SchedulerConfig, options: UpOptions): Promise<void> {
  const { app, url } = await startScheduler(config);
  const children = new Set<ChildProcess>();
  let stopping = false;

  const startWorker = (index: number, tasks: string): void => {
    const child = spawn(
      process.execPath,
      [BIN, 'worker', '--scheduler', url, '--tasks', tasks, '--concurrency', String(options.concurrency), '--name', `local-${index}`, '--log-level', config.logLevel],
      // Local workers get the worker (or admin) token through the environment, not the command line.
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, SLUICE_TOKEN: config.workerToken[0] ?? config.adminToken[0] ?? '' } },
    );
    children.add(child);
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (stopping) return;
      app.log.warn({ worker: `local-${index}`, code, signal }, 'local worker exited; starting it again');
      setTimeout(() => startWorker(index, tasks), 1_000).unref();
    });
  };

  if (options.tasks) {
    for (let i = 0; i < options.workers; i++) startWorker(i, options.tasks);
  } else {
    app.log.warn('no --tasks module given: starting the scheduler alone; run `sluice worker --tasks MODULE` to add workers');
  }

  onSignals(app.log, async () => {
    stopping = true;
    const exited = [...children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of children) child.kill('SIGTERM');
    await Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs + 2_000))]);
    for (const child of children) child.kill('SIGKILL');
    await shutdown(app, config.shutdownGraceMs);
  });
}
