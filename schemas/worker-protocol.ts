import { z } from 'zod';
import { FnName, Key, TaskErrorInfo } from './common.ts';

/**
 * The worker protocol, one JSON message per WebSocket frame. Values travel as
 * JSON text (`args`, `result`) so the scheduler stores and forwards them
 * without decoding them again.
 */

export const PROTOCOL_VERSION = 1;

// worker → scheduler

export const HelloMessage = z
  .object({
    type: z.literal('hello'),
    protocol: z.literal(PROTOCOL_VERSION),
    name: z.string().min(1).max(128),
    functions: z.array(FnName).max(10_000),
    concurrency: z.number().int().min(1).max(100_000),
    pid: z.number().int().optional(),
  })
  .strict();

const Finished = z.object({
  key: Key,
  attempt: z.number().int().min(1),
  status: z.literal('finished'),
  result: z.string().describe('The return value as JSON text: one JSON value, checked by the scheduler (size, depth, syntax) before it is stored.'),
});
const Erred = z.object({
  key: Key,
  attempt: z.number().int().min(1),
  status: z.literal('error'),
  // Which task raised is the scheduler's to say (for dependants), never the worker's: `key` is dropped.
  error: TaskErrorInfo.omit({ key: true }),
});
export const TaskReport = z.discriminatedUnion('status', [Finished, Erred]);
export type TaskReport = z.infer<typeof TaskReport>;

export const ReportMessage = z.object({ type: z.literal('report'), items: z.array(TaskReport).min(1) }).strict();
/**
 * The figures are optional: a worker sends them only to a scheduler whose
 * welcome has `workerStats`, and older workers send none.
 */
export const HeartbeatMessage = z
  .object({
    type: z.literal('heartbeat'),
    /** The worker process's resident set size. */
    rssBytes: z.number().int().min(0).optional(),
    /** The share of the time since the previous heartbeat that its event loop was busy, 0 to 1. */
    eventLoopUtilization: z.number().min(0).max(1).optional(),
    /** Over this RSS the worker stops taking tasks and restarts once they end (--memory-limit). */
    memoryLimitBytes: z.number().int().positive().optional(),
    /** A supervisor restarts this worker's process and reports how it exited (POST /workers/exited). */
    supervised: z.boolean().optional(),
  })
  .strict();
export type HeartbeatMessage = z.infer<typeof HeartbeatMessage>;
export const SecedeMessage = z.object({ type: z.literal('secede'), key: Key, attempt: z.number().int() }).strict();
export const DrainingMessage = z
  .object({
    type: z.literal('draining'),
    /** Why, for the scheduler's log (e.g. over the memory limit); only to a scheduler whose welcome has `workerStats`. */
    reason: z.string().max(1000).optional(),
  })
  .strict();

export const WorkerMessage = z.discriminatedUnion('type', [
  HelloMessage,
  ReportMessage,
  HeartbeatMessage,
  SecedeMessage,
  DrainingMessage,
]);
export type WorkerMessage = z.infer<typeof WorkerMessage>;

// scheduler → worker

export const WelcomeMessage = z.object({
  type: z.literal('welcome'),
  workerId: z.string(),
  heartbeatMs: z.number(),
  /** Results longer than this (JSON characters) are refused: the worker reports an error instead of sending them. */
  maxResultBytes: z.number().optional(),
  /** The scheduler takes the optional figures of heartbeats and the reason of draining. */
  workerStats: z.boolean().optional(),
});

export const RunTask = z.object({
  key: Key,
  fn: FnName,
  args: z.string().describe('JSON array, dependencies already replaced by their results.'),
  kwargs: z.string().nullable(),
  attempt: z.number().int(),
  timeoutMs: z.number().nullable(),
});
export type RunTask = z.infer<typeof RunTask>;

export const RunMessage = z.object({ type: z.literal('run'), tasks: z.array(RunTask) });
export const CancelMessage = z.object({
  type: z.literal('cancel'),
  items: z.array(z.object({ key: Key, attempt: z.number().int(), reason: z.string() })),
});

export const SchedulerMessage = z.discriminatedUnion('type', [WelcomeMessage, RunMessage, CancelMessage]);
export type SchedulerMessage = z.infer<typeof SchedulerMessage>;

// a worker's supervisor → scheduler (HTTP)

/** POST /workers/exited: how a supervised worker process ended, from the supervisor that saw it. */
export const WorkerExitReport = z
  .object({
    /** The worker's name (its supervisor keeps it across restarts). */
    name: z.string().min(1).max(128),
    /** The pid of the process that ended, as its hello gave it. */
    pid: z.number().int().positive(),
    /** Its exit code, or null if a signal ended it. */
    code: z.number().int().nullable(),
    signal: z.string().max(32).nullable(),
    /** What the worker said before it went, if anything (a planned restart: over its memory limit). */
    reason: z.string().max(1000).optional(),
  })
  .strict();
export type WorkerExitReport = z.infer<typeof WorkerExitReport>;
