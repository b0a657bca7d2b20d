/** The worker side: the runtime, and what a running task can call. */
export { getClient, getTask, secede, type TaskInfo } from './context.ts';
export { loadTasks, type TaskFunction } from './load-tasks.ts';
export { Worker, type WorkerOptions } from './runtime.ts';
