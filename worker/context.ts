import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from '../client/client.ts';

/** What a running task can learn about itself. */
export interface TaskInfo {
  key: string;
  fn: string;
  /** 1 for the first run, more after retries or lost workers. */
  attempt: number;
  /** The name of the worker running it. */
  worker: string;
  /** Aborted when the scheduler no longer wants the result (cancelled, or timed out). */
  signal: AbortSignal;
}

/** The running task's context, found through AsyncLocalStorage so task functions stay plain functions. */
export interface TaskContext extends TaskInfo {
  client(): Client;
  secede(): void;
  /** An error escaped the task (`what` says how): fail it with that error. False if it had already ended. */
  fail(error: unknown, what: string): boolean;
}

export const taskStorage = new AsyncLocalStorage<TaskContext>();

function current(what: string): TaskContext {
  const context = taskStorage.getStore();
  if (!context) throw new Error(`${what}() works only inside a task running on a sluice worker`);
  return context;
}

/** A Client connected to the scheduler this worker serves (Dask's get_client / local_client). */
export function getClient(): Client {
  return current('getClient').client();
}

/** The running task's key and metadata. */
export function getTask(): TaskInfo {
  const { key, fn, attempt, worker, signal } = current('getTask');
  return { key, fn, attempt, worker, signal };
}

/**
 * Give the task's slot back to the worker (Dask's secede): for a task that
 * runs for long, waiting on other tasks, so it does not starve the tasks it
 * waits for.
 */
export function secede(): void {
  current('secede').secede();
}
