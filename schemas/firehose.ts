import { z } from 'zod';
import { ChannelInfo } from './channels.ts';
import { TaskErrorInfo } from './common.ts';
import { QueueInfo } from './queues.ts';
import { TopicInfo } from './topics.ts';

/**
 * GET /events, the firehose a dashboard reads: one schema per SSE event
 * name. The server's frames are typed from these, and so is the dashboard.
 * Readers should ignore fields they do not know: frames gain fields.
 */

/** A worker as GET /workers and the firehose show it. The figures are there once its heartbeats carry them. */
export const WorkerInfo = z.object({
  id: z.string(),
  name: z.string(),
  functions: z.array(z.string()),
  concurrency: z.number(),
  processing: z.number(),
  draining: z.boolean(),
  connectedAt: z.string(),
  lastHeartbeatAt: z.string(),
  pid: z.number().optional().describe('The worker process, as its hello gave it.'),
  rssBytes: z.number().optional().describe('Resident set size at its last heartbeat.'),
  eventLoopUtilization: z.number().optional().describe('Share of the time its event loop was busy between its last two heartbeats, 0 to 1.'),
  memoryLimitBytes: z.number().optional().describe('Over this RSS it drains and restarts (--memory-limit).'),
});
export type WorkerInfo = z.infer<typeof WorkerInfo>;

/** Active tasks by state, now. */
export const TaskCounts = z.object({ waiting: z.number(), queued: z.number(), processing: z.number() });
export type TaskCounts = z.infer<typeof TaskCounts>;

/** Tasks submitted, and tasks ended by status, since the scheduler started. */
export const TaskTotals = z.object({ submitted: z.number(), finished: z.number(), error: z.number(), cancelled: z.number(), lost: z.number() });
export type TaskTotals = z.infer<typeof TaskTotals>;

const progressCounts = {
  waiting: z.number().describe('Waiting for dependencies, now.'),
  queued: z.number().describe('Ready, waiting for a free worker slot, now.'),
  processing: z.number().describe('Running on a worker, now.'),
  finished: z.number().describe('Since the scheduler started.'),
  error: z.number().describe('Since the scheduler started.'),
  cancelled: z.number().describe('Since the scheduler started.'),
  lost: z.number().describe('Since the scheduler started.'),
};

/** One function's tasks: active ones by state, ended ones by status. */
export const FunctionProgress = z.object({ fn: z.string(), ...progressCounts });
export type FunctionProgress = z.infer<typeof FunctionProgress>;

/**
 * Tasks by function: the busiest functions (those with the most active
 * tasks, then those that ended tasks most recently), in name order, and the
 * rest summed up in `other`. Every row together adds up to the counts and the
 * totals.
 */
export const TaskProgress = z.object({
  functions: z.array(FunctionProgress),
  other: z
    .object({
      functions: z.number().describe('How many functions are summed up here; past 1000 functions, the least recently active are no longer counted one by one and add to this row uncounted.'),
      ...progressCounts,
    })
    .nullable()
    .describe('The functions not listed, summed up; null when every function is listed.'),
});
export type TaskProgress = z.infer<typeof TaskProgress>;

export const ProgressQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(1000).default(20).describe('Functions listed at most; the rest are summed up in `other`.') })
  .strict();

/** A task that ended, as the task stream draws it. Times are ms since the epoch. */
export const TaskRecord = z.object({
  key: z.string(),
  fn: z.string(),
  worker: z.string().nullable().describe('The name of the worker it last ran on; null if it never ran.'),
  status: z.enum(['finished', 'error', 'cancelled', 'lost']),
  startedAt: z.number().nullable(),
  finishedAt: z.number(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

export const ErrorRecord = TaskRecord.extend({
  error: TaskErrorInfo.describe('Its message cut to 2 kB and its traceback to 8 kB: GET /futures/:key has them whole.'),
});
export type ErrorRecord = z.infer<typeof ErrorRecord>;

/** [second since the epoch, tasks finished, tasks that erred or were lost] */
export const ThroughputSecond = z.tuple([z.number(), z.number(), z.number()]);

/** A lock or a semaphore at a glance. */
export const LeaseSummary = z.object({
  kind: z.enum(['lock', 'semaphore']),
  name: z.string(),
  maxLeases: z.number(),
  held: z.number().describe('Leases held now.'),
  waiting: z.number().describe('Callers waiting to acquire.'),
  lastToken: z.number(),
  holders: z.array(z.string()).describe('Who holds the oldest leases (their holder labels, else their client ids), at most three.'),
});
export type LeaseSummary = z.infer<typeof LeaseSummary>;

/** `snapshot`: everything a dashboard shows, first, and again whenever resuming is not possible. */
export const SnapshotFrame = z.object({
  epoch: z.string().describe('Identifies this run of the scheduler.'),
  restarted: z.boolean().describe('The reader’s Last-Event-ID came from an earlier run: the scheduler restarted.'),
  version: z.string(),
  startedAt: z.string(),
  counts: TaskCounts,
  totals: TaskTotals,
  progress: TaskProgress,
  workers: z.array(WorkerInfo),
  channels: z.array(ChannelInfo),
  queues: z.array(QueueInfo),
  leases: z.array(LeaseSummary).describe('Those held or waited on, and up to 200 others.'),
  leaseCount: z.number(),
  topics: z.array(TopicInfo),
  variables: z.object({ count: z.number() }),
  flags: z.object({ count: z.number(), set: z.array(z.string()).describe('The first 200 names set, in name order.') }),
  recentTasks: z.array(TaskRecord),
  recentErrors: z.array(ErrorRecord),
  history: z.array(ThroughputSecond).describe('Throughput over the last five minutes.'),
});
export type SnapshotFrame = z.infer<typeof SnapshotFrame>;

/** `tasks`: task activity summed up every 250 ms while tasks move. */
export const TasksFrame = z.object({
  at: z.number(),
  counts: TaskCounts,
  totals: TaskTotals,
  progress: TaskProgress,
  ended: z.array(TaskRecord).describe('The tasks that ended since the previous frame, 500 at most.'),
  endedDropped: z.number().describe('Those that ended and are not listed.'),
  errors: z.array(ErrorRecord).describe('20 at most.'),
  errorsDropped: z.number(),
  workers: z.array(z.object({ id: z.string(), processing: z.number(), lastHeartbeatAt: z.string() })),
});
export type TasksFrame = z.infer<typeof TasksFrame>;

/** A worker's heartbeat figures, in a `stats` frame. */
export const WorkerStatsEntry = WorkerInfo.pick({ id: true, lastHeartbeatAt: true, rssBytes: true, eventLoopUtilization: true, memoryLimitBytes: true });

/** `worker`: joined and left as they happen; `stats` once a tick for the workers whose heartbeats brought figures. */
export const WorkerFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('joined'), worker: WorkerInfo }),
  z.object({ type: z.literal('left'), worker: WorkerInfo }),
  z.object({ type: z.literal('stats'), workers: z.array(WorkerStatsEntry) }),
]);
export type WorkerFrame = z.infer<typeof WorkerFrame>;

/** `channel`: configured, stopped and deleted as they happen; appended once a tick per channel appended to. */
export const ChannelFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('configured'), channel: ChannelInfo }),
  z.object({ type: z.literal('appended'), channel: ChannelInfo, count: z.number().describe('Entries appended since the previous frame.') }),
  z.object({ type: z.literal('stopped'), channel: ChannelInfo }),
  z.object({ type: z.literal('deleted'), name: z.string() }),
]);
export type ChannelFrame = z.infer<typeof ChannelFrame>;

const more = z.number().describe('Names that changed and are not listed (1000 are, at most).');

export const QueueActivity = QueueInfo.extend({ puts: z.number(), gets: z.number() }).describe('puts and gets: items since the previous frame.');
export const QueuesFrame = z.object({ at: z.number(), changed: z.array(QueueActivity), deleted: z.array(z.string()), more });

export const LeaseActivity = LeaseSummary.extend({ acquired: z.number(), released: z.number(), expired: z.number() });
export const LeasesFrame = z.object({ at: z.number(), changed: z.array(LeaseActivity), more });

export const VariablesFrame = z.object({ at: z.number(), count: z.number(), set: z.array(z.string()), deleted: z.array(z.string()) });
export const FlagsFrame = z.object({ at: z.number(), count: z.number(), set: z.array(z.string()), cleared: z.array(z.string()) });

export const TopicActivity = TopicInfo.extend({ published: z.number() });
export type TopicSummary = z.infer<typeof TopicInfo>;
export const TopicsFrame = z.object({ at: z.number(), changed: z.array(TopicActivity), forgotten: z.array(z.string()) });

/** Every event of GET /events, by name. */
export const FirehoseFrames = {
  snapshot: SnapshotFrame,
  tasks: TasksFrame,
  worker: WorkerFrame,
  channel: ChannelFrame,
  queues: QueuesFrame,
  leases: LeasesFrame,
  variables: VariablesFrame,
  flags: FlagsFrame,
  topics: TopicsFrame,
} as const;
export type FirehoseEvent = keyof typeof FirehoseFrames;
export type FirehoseFrame<E extends FirehoseEvent> = z.infer<(typeof FirehoseFrames)[E]>;
/** An event name with its data, as the scheduler publishes it. */
export type FirehoseEntry = { [E in FirehoseEvent]: [E, FirehoseFrame<E>] }[FirehoseEvent];

/** GET /events: where to resume, for readers that cannot send the Last-Event-ID header. */
export const FirehoseQuery = z
  .object({ lastEventId: z.string().max(64).optional().describe('Resume after this id; for readers that cannot send the Last-Event-ID header.') })
  .strict();
