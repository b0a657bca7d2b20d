import type { Logger } from 'pino';
import { taskStorage } from './context.ts';

/**
 * Errors that escape a task: a promise rejection nobody handles, an
 * exception thrown in a timer or an event handler. Node's default ends the
 * process, and with it every task on the worker, and the task that caused it
 * would be run again on the next worker, to kill that one too.
 * AsyncLocalStorage knows which task an async context belongs to (a timer's
 * callback runs in the context the timer was made in, a rejection's handler
 * in the promise's), so such an error fails its own task, with its own name,
 * message and stack, and the worker carries on.
 *
 * An error outside every task is logged. After a rejection the worker
 * carries on (as Node's --unhandled-rejections=warn); after an uncaught
 * exception nobody can vouch for the process's state, so it exits (1) with a
 * line saying why, and its supervisor starts a fresh one. (An exception
 * thrown in a queueMicrotask callback reaches Node's handler outside its
 * context, so it counts as outside every task.)
 */
export function catchEscapedErrors(log: Logger): () => void {
  // One pair of handlers per process, however many workers it runs.
  if (!installed) installed = { users: 0, uninstall: install(log) };
  installed.users++;
  let done = false;
  return () => {
    if (done || !installed) return;
    done = true;
    if (--installed.users > 0) return;
    installed.uninstall();
    installed = undefined;
  };
}

let installed: { users: number; uninstall: () => void } | undefined;

function install(log: Logger): () => void {
  const escaped = (error: unknown, what: string, fatal: boolean): void => {
    const task = taskStorage.getStore();
    if (task) {
      if (task.fail(error, what)) return;
      log.warn({ key: task.key, attempt: task.attempt, err: error }, `${what} from task ${task.key} after it ended; ignored`);
      return;
    }
    // With another listener (a program that embeds the worker), that one decides.
    if (!fatal || process.listenerCount('uncaughtException') > 1) {
      log.error({ err: error }, `${what} outside any task; the worker carries on`);
      return;
    }
    log.fatal({ err: error }, `${what} outside any task: the worker process exits, as its state cannot be trusted`);
    process.exit(1);
  };
  const onRejection = (reason: unknown): void => escaped(reason, 'an unhandled promise rejection', false);
  const onException = (error: unknown): void => escaped(error, 'an uncaught exception', true);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
