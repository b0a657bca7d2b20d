import type { SchedulerConfig } from '../server/config.ts';
import type { LogFormat } from './logging.ts';
import { onSignals, shutdown, startScheduler } from './scheduler-command.ts';
import { WorkerSupervisor } from './worker-supervisor.ts';

export interface UpOptions {
  workers: number;
  tasks?: string;
  concurrency: number;
  /** Over this RSS (bytes) a local worker drains and its process is restarted. */
  memoryLimitBytes?: number;
  /** The scheduler's and the local workers' log format. */
  logFormat: LogFormat;
}

/**
 * A local cluster (Dask's LocalCluster): the scheduler in this process and N
 * worker processes beside it, each supervised from here (restarted when it
 * dies, and the scheduler told how it died; the workers run with --no-nanny,
 * so nothing supervises them twice). A SIGTERM or SIGINT to this process or
 * to any local worker stops the whole cluster: the workers finish what they
 * run, then the scheduler drains and closes. A local worker whose cluster
 * process dies exits by itself.
 */
export async function runUp(config: SchedulerConfig, options: UpOptions): Promise<void> {
  const { host, url } = await startScheduler(config, options.logFormat);
  const log = host.log;
  const supervisors: WorkerSupervisor[] = [];

  const stop = onSignals(
    log,
    async () => {
      await Promise.all(supervisors.map((supervisor) => supervisor.stop(config.shutdownGraceMs + 2_000)));
      await shutdown(host, config.shutdownGraceMs);
    },
    () => {
      for (const supervisor of supervisors) supervisor.kill();
    },
  );

  if (options.tasks) {
    const args = ['--scheduler', url, '--tasks', options.tasks, '--concurrency', String(options.concurrency), '--log-level', config.logLevel, '--log-format', options.logFormat];
    if (options.memoryLimitBytes !== undefined) args.push('--memory-limit', String(options.memoryLimitBytes));
    for (let i = 0; i < options.workers; i++) {
      const supervisor = new WorkerSupervisor({
        name: `local-${i}`,
        args,
        // Local workers get the worker (or admin) token through the environment, not the command line.
        env: { ...process.env, SLUICE_TOKEN: config.workerToken[0] ?? config.adminToken[0] ?? '' },
        log,
        // The app serving now: after a failed commit the host serves a rebuilt one.
        onExit: (exit) => host.app.scheduler.workers.exited(exit),
        onStopRequested: (signal) => stop({ signal, worker: `local-${i}` }),
        onFailedToStart: (exit) => log.error({ worker: exit.name, code: exit.code, signal: exit.signal, tasks: options.tasks }, 'a local worker could not start (see its error above); the scheduler runs without it'),
      });
      supervisors.push(supervisor);
      supervisor.start();
    }
  } else {
    log.warn('no --tasks module given: starting the scheduler alone; run `npx sluice worker --tasks MODULE` to add workers');
  }
}
