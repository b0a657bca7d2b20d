/**
 * The narrow ports of the task service (server/services/scheduler.ts), for the
 * services and observers that need one thing of it: its events, submission,
 * or a read-only view of the cluster. A service receives the port it needs
 * in its constructor; the composition root (server/http/plugins/) hands it the
 * scheduler's. Holding, releasing and handing over keys is the Holds port
 * (server/services/holds.ts).
 */
import type { EventEmitter } from 'node:events';
import type { TaskSpec } from '../../schemas/tasks.ts';
import type { Caller } from './holds.ts';
import type { OutcomeRecord } from './outcomes.ts';
import type { ActiveTask, WorkerState } from '../state/types.ts';

/** Active tasks by state. */
export type StateCounts = Record<ActiveTask['state'], number>;

/** A task ended (finished, erred, cancelled, lost), once that is committed. */
export interface EndedEvent {
  key: string;
  fn: string;
  outcome: OutcomeRecord;
  /** Holders at the moment it ended. */
  holders: readonly string[];
  /** The name of the worker it last ran on, if it ran. */
  worker: string | null;
  /** When its last attempt started, and when it ended (ms since the epoch). */
  startedAt: number | null;
  finishedAt: number;
}

/** Events the task service emits, after the change they announce is committed. */
export interface TaskEventMap {
  'task:submitted': [count: number];
  'task:ended': [EndedEvent];
  'worker:joined': [WorkerState];
  'worker:left': [WorkerState];
  /** A heartbeat brought new figures (RSS, event-loop utilisation). */
  'worker:stats': [WorkerState];
  /** A client session ended: closed, or idle longer than its lease. */
  'client:ended': [clientId: string];
}

/** Following the task service's events: subscribe at start, unsubscribe at close. */
export type TaskEvents = Pick<EventEmitter<TaskEventMap>, 'on' | 'off'>;

/** Submitting tasks, for a service that submits on a caller's behalf (channels). */
export interface SubmitTasks {
  /**
   * Submit tasks; answers their keys. The writes join the turn's commit:
   * acknowledge once it is committed. Throws, changing nothing, for a batch
   * the scheduler refuses (limits, unknown dependency, key conflict, cycle).
   */
  submit(specs: readonly TaskSpec[], caller: Caller, fireAndForget?: boolean): string[];
}

/** What the cluster looks like now, read-only, for the firehose and the metrics. */
export interface ClusterView {
  /** When this run of the scheduler started (ms since the epoch). */
  readonly startedAt: number;
  /** Active tasks by state. */
  counts(): Readonly<StateCounts>;
  /** Active tasks by function, then by state. */
  countsByFunction(): ReadonlyMap<string, Readonly<StateCounts>>;
  workers(): Iterable<WorkerState>;
}
