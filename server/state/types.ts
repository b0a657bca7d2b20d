import type { FutureStatus, TaskErrorInfo } from '../../schemas/common.ts';
import type { Holders } from './holders.ts';

/** A task the scheduler still has to finish: waiting, queued or processing. */
export interface ActiveTask {
  readonly key: string;
  readonly fn: string;
  /** Positional arguments as JSON text. */
  readonly args: string;
  /** Keyword arguments as JSON text, or null. */
  readonly kwargs: string | null;
  /** Keys this task's arguments refer to. */
  readonly deps: readonly string[];
  readonly priority: number;
  /** Submission order: FIFO within a priority. */
  readonly seq: number;
  readonly timeoutMs: number | null;
  readonly submittedAt: number;
  /** Retries left for a task that throws. */
  retries: number;
  state: 'waiting' | 'queued' | 'processing';
  /** Set once the task has left the active set; heap entries check it. */
  ended: boolean;
  /** Dependencies that have not finished yet; made on first need (most tasks have none). */
  waitingOn: Set<string> | undefined;
  /** Active tasks waiting for this one; made on first need. */
  dependents: Set<string> | undefined;
  /** Who keeps this task: client:<id>, channel:<name>:<seq>, ff (fire-and-forget), ... (see holder-kinds.ts; holders.ts keeps them compact). */
  holders: Holders;
  worker: WorkerState | null;
  /** How many times the task has been started. */
  attempt: number;
  /** How many times a worker died while running it. */
  failures: number;
  startedAt: number | null;
  /** The task gave its slot back (secede) and no longer counts against concurrency. */
  seceded: boolean;
}

/** A worker connected to this scheduler. */
export interface WorkerState {
  readonly id: string;
  readonly name: string;
  readonly functions: ReadonlySet<string>;
  readonly concurrency: number;
  readonly connectedAt: number;
  lastHeartbeatAt: number;
  /** Tasks counting against concurrency. */
  running: number;
  /** Every task processing on this worker, seceded ones included. */
  readonly tasks: Map<string, ActiveTask>;
  /** A draining worker finishes what it has and gets nothing new. */
  draining: boolean;
  /** The worker process's pid, if its hello gave it. */
  readonly pid: number | null;
  /** The figures of its last heartbeat, if it sends them. */
  stats: WorkerStats | null;
}

/** What a worker's heartbeats say about its process. */
export interface WorkerStats {
  rssBytes?: number;
  /** The share of time its event loop was busy since the previous heartbeat, 0 to 1. */
  eventLoopUtilization?: number;
  memoryLimitBytes?: number;
  /** A supervisor restarts the process and reports how it ended. */
  supervised?: boolean;
}

/** How a task ended. Results stay JSON text. */
export type TaskOutcome =
  | { status: 'finished'; result: string }
  | { status: 'error'; error: TaskErrorInfo }
  | { status: 'cancelled'; reason: string }
  | { status: 'lost'; error: TaskErrorInfo };

/** A task as submitted, after keys and dependencies are resolved. */
export interface NewTask {
  key: string;
  fn: string;
  args: string;
  kwargs: string | null;
  deps: readonly string[];
  priority: number;
  retries: number;
  timeoutMs: number | null;
}

/** A pending task read back from the store at start. */
export interface RestoredTask extends NewTask {
  seq: number;
  submittedAt: number;
  attempt: number;
  failures: number;
  holders: string[];
}

/** What the store knows of a task that is no longer active. */
export interface EndedTask {
  status: FutureStatus;
  fn: string;
  error: TaskErrorInfo | null;
}

/** Read-only questions the scheduling core asks of the store. */
export interface StoreLookup {
  /** A task that has ended (or is unknown): its status, or undefined if there is no such key. */
  ended(key: string): EndedTask | undefined;
  /** Every holder recorded for a key. */
  holdersOf(key: string): string[];
}

/**
 * What the scheduling core asks the world to do. Adapters implement it: the
 * store persists, the worker layer sends, the SSE hubs notify.
 */
export interface SchedulerEffects {
  /** A new (or revived) task: persist it with its holders. */
  taskAdded(task: ActiveTask): void;
  /** A task ended: persist the outcome and tell whoever is interested. */
  taskEnded(task: ActiveTask, outcome: TaskOutcome): void;
  /** Attempt, retries or failures changed (a retry, or its worker died). */
  taskRestarted(task: ActiveTask): void;
  holdAdded(key: string, holder: string): void;
  holdReleased(key: string, holder: string): void;
  /** Send the task to the worker. */
  dispatch(worker: WorkerState, task: ActiveTask): void;
  /** Tell the worker to drop the task: its result is no longer wanted. */
  revoke(worker: WorkerState, task: ActiveTask, reason: string): void;
  /** Start the attempt's time limit (task.timeoutMs). */
  armTimeout(task: ActiveTask): void;
  disarmTimeout(task: ActiveTask): void;
}
