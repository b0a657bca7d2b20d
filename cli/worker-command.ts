import { pino } from 'pino';
import { loadTasks } from '../worker/load-tasks.ts';
import { Worker } from '../worker/runtime.ts';

export interface WorkerCommandOptions {
  scheduler: string;
  tasks: string;
  concurrency: number;
  name?: string;
  logLevel: string;
  token?: string;
}

/** Load the tasks module, connect, and run until SIGTERM/SIGINT (a second one exits at once). */
export async function runWorker(options: WorkerCommandOptions): Promise<void> {
  const logger = pino({ level: options.logLevel, base: { worker: options.name } });
  const functions = await loadTasks(options.tasks);
  const worker = new Worker({
    scheduler: options.scheduler,
    functions,
    concurrency: options.concurrency,
    name: options.name,
    token: options.token,
    logger,
  });
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal, running: worker.running }, 'stopping: finishing running tasks');
    void worker.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
  logger.info({ scheduler: options.scheduler, functions: [...functions.keys()] }, 'worker starting');
  await worker.start();
}
