import { z } from 'zod';
import { CommitBody, ConsumerName, ConsumerPosition } from '../../../schemas/channel-consumers.ts';
import { AppendBody, AppendReply, ChannelConfig, ChannelEntry, ChannelInfo, ChannelSnapshot, ChannelStop } from '../../../schemas/channels.ts';
import { ChannelName, ClientId, ClientReady, ClientSession, FnName, FutureStatus, Key, TaskErrorInfo, TaskState } from '../../../schemas/common.ts';
import { ErrorBody } from '../../../schemas/errors.ts';
import {
  ChannelFrame,
  ErrorRecord,
  FlagsFrame,
  FunctionProgress,
  LeaseActivity,
  LeasesFrame,
  LeaseSummary,
  QueueActivity,
  QueuesFrame,
  SnapshotFrame,
  TaskCounts,
  TaskProgress,
  TaskRecord,
  TasksFrame,
  TaskTotals,
  TopicActivity,
  TopicsFrame,
  VariablesFrame,
  WorkerFrame,
  WorkerInfo,
} from '../../../schemas/firehose.ts';
import { FlagInfo } from '../../../schemas/flags.ts';
import { Lease, LeaseBody, LeasesInfo, LeaseView, LockAcquireBody, SemaphoreAcquireBody, SemaphoreConfig } from '../../../schemas/leases.ts';
import { AckBody, AckReply, QueueLeaseAnswer, ReleaseReply, RenewBody } from '../../../schemas/queue-leases.ts';
import { GetReply, PutBody, PutReply, QueueConfig, QueueInfo, QueueItem } from '../../../schemas/queues.ts';
import {
  CancelReply,
  FutureInfo,
  FuturesReply,
  GatherBody,
  GatherReply,
  KeysBody,
  Outcome,
  OutcomesBody,
  OutcomesReply,
  OutcomeUpdate,
  ScatterBody,
  ScatterReply,
  SubmitBatch,
  SubmitBatchReply,
  SubmitOne,
  SubmitOneReply,
  TaskSpec,
} from '../../../schemas/tasks.ts';
import { PublishBody, PublishReply, TopicGap, TopicInfo } from '../../../schemas/topics.ts';
import { Fence, VariableBody, VariableInfo } from '../../../schemas/variables.ts';
import { WorkerExitReport } from '../../../schemas/worker-protocol.ts';

/**
 * The schemas the OpenAPI document names (components/schemas), so that a
 * generated client has named types: the zod schema, its component name, and
 * what it is when the schema does not say so itself. A schema used in a
 * request gets the same name (fastify-type-provider-zod names it <name>Input,
 * and the document drops the suffix where it can: see document.ts).
 */
const COMPONENTS: ReadonlyArray<readonly [z.ZodType, string, string?]> = [
  [ErrorBody, 'Error', 'Every error sluice answers: a stable code from its catalog (SLUICE_ERR_*), a message that names what was wrong, and details for some codes.'],
  // Names and states
  [Key, 'Key'],
  [FnName, 'FunctionName'],
  [ChannelName, 'ChannelName'],
  [ConsumerName, 'ConsumerName'],
  [ClientId, 'ClientId'],
  [FutureStatus, 'FutureStatus', 'A future’s status as clients see it.'],
  [TaskState, 'TaskState', 'A task’s state as the scheduler sees it: finer than the status while pending.'],
  [TaskErrorInfo, 'TaskError', 'How a failed task is described: the error’s name, message and stack (its traceback).'],
  // Tasks and futures
  [TaskSpec, 'Task', 'One task as a caller submits it.'],
  [SubmitOne, 'TaskSubmission', 'One task, submitted on its own.'],
  [SubmitBatch, 'TaskBatch', 'Several tasks, submitted in one write.'],
  [SubmitOneReply, 'Submitted', 'The key of the task submitted, once it is committed.'],
  [SubmitBatchReply, 'SubmittedBatch', 'The keys of the tasks submitted, in order, once they are committed.'],
  [FutureInfo, 'Future', 'A future: its task’s status, result or error, and why it is not running yet if it is pending.'],
  [Outcome, 'FutureResult', 'A task’s outcome: finished with its result, or error, cancelled or lost with its error.'],
  [OutcomeUpdate, 'FutureOutcome', 'A future’s outcome, its result inline up to a size limit (resultOmitted: true beyond); a pending future has only its status.'],
  [GatherBody, 'GatherRequest'],
  [GatherReply, 'Gathered', 'The results, in the order of the keys asked for.'],
  [ScatterBody, 'ScatterRequest', '{ data: [...] } stores each element under its own key; { data, key? } stores one value.'],
  [ScatterReply, 'Scattered', 'The keys the values are stored under.'],
  [KeysBody, 'KeyList'],
  [OutcomesBody, 'OutcomesRequest'],
  [OutcomesReply, 'Outcomes', 'The outcomes of the keys asked for, now.'],
  [FuturesReply, 'HeldFutures', 'The outcomes so far of the keys the session now holds.'],
  [CancelReply, 'Cancelled', 'The task’s status after the cancel.'],
  // Client sessions
  [ClientSession, 'ClientSession', 'A new client session: its public id, and the credential that acts as it.'],
  [ClientReady, 'ClientReady'],
  // Channels
  [ChannelInfo, 'Channel', 'A channel: its length, maxlen, whether it is stopped, and its last sequence number.'],
  [ChannelConfig, 'ChannelConfig'],
  [AppendBody, 'AppendRequest', 'Existing keys ({ key } or { keys }), or new tasks submitted and appended in the same write ({ tasks }).'],
  [AppendReply, 'Appended', 'The sequence numbers the entries got, and their keys, once committed.'],
  [ChannelEntry, 'ChannelEntry', 'An entry of a channel: its sequence number, its future’s key and status.'],
  [ChannelSnapshot, 'ChannelSnapshot', 'A channel and its entries, in order, a page at a time.'],
  [ChannelStop, 'ChannelStop'],
  [ConsumerPosition, 'ConsumerPosition'],
  [CommitBody, 'ConsumerCommit'],
  // Queues
  [QueueInfo, 'Queue', 'A queue: its size, maxsize, and who waits on it.'],
  [QueueConfig, 'QueueConfig'],
  [QueueItem, 'QueueItem'],
  [PutBody, 'QueuePut', 'One item ({ item }) or several ({ items }).'],
  [PutReply, 'QueueSize'],
  [GetReply, 'QueueItems', 'The items taken, oldest first; with ?ack=true, the lease they are held under.'],
  [AckBody, 'QueueLeaseItems', 'A lease on queue items, and which of its items (default: all).'],
  [RenewBody, 'QueueLeaseRenewal'],
  [QueueLeaseAnswer, 'QueueLease', 'A lease on queue items: when it lapses, and the items still under it.'],
  [AckReply, 'QueueLeaseAcked', 'The lease after the ack, and how many items left the queue.'],
  [ReleaseReply, 'QueueLeaseReleased', 'The lease after the release, and how many items went back in line.'],
  // Variables, topics, flags
  [VariableInfo, 'Variable', 'A variable and its value.'],
  [VariableBody, 'VariableSet', 'The value, and the lease it is fenced with, if any.'],
  [Fence, 'Fence'],
  [PublishBody, 'TopicPublish'],
  [PublishReply, 'Published'],
  [TopicInfo, 'Topic', 'A topic: its subscribers now, and how many messages it has had.'],
  [TopicGap, 'TopicGap'],
  [FlagInfo, 'Flag', 'A flag (Dask’s Event) and whether it is set.'],
  // Locks and semaphores
  [Lease, 'Lease', 'A lease on a lock or a semaphore, with its fencing token.'],
  [LeaseView, 'LeaseView', 'A lease as anybody sees it: without its id, which is what renews or releases it.'],
  [LeasesInfo, 'LeaseHolders', 'A lock or a semaphore: the leases held, and how many wait.'],
  [LockAcquireBody, 'LockAcquire', 'Optional: a bare POST takes the defaults.'],
  [SemaphoreAcquireBody, 'SemaphoreAcquire', 'Optional: a bare POST takes the defaults.'],
  [SemaphoreConfig, 'SemaphoreConfig'],
  [LeaseBody, 'LeaseRef', 'Which lease: its id.'],
  // Workers and the firehose
  [WorkerInfo, 'Worker', 'A worker as GET /workers and the firehose show it; the figures are there once its heartbeats carry them.'],
  [WorkerExitReport, 'WorkerExit', 'How a worker process ended, as its supervisor saw it.'],
  [TaskCounts, 'TaskCounts', 'Active tasks by state, now.'],
  [TaskTotals, 'TaskTotals', 'Tasks submitted, and tasks ended by status, since the scheduler started.'],
  [FunctionProgress, 'FunctionProgress', 'One function’s tasks: active ones by state, ended ones by status.'],
  [TaskProgress, 'TaskProgress', 'Tasks by function: the busiest functions in name order, the rest summed up in other.'],
  [TaskRecord, 'TaskRecord', 'A task that ended, as the task stream draws it. Times are ms since the epoch.'],
  [ErrorRecord, 'TaskErrorRecord', 'A task that erred or was lost, with its error cut short.'],
  [LeaseSummary, 'LeaseSummary', 'A lock or a semaphore at a glance.'],
  [QueueActivity, 'QueueActivity'],
  [LeaseActivity, 'LeaseActivity', 'A lock or a semaphore, and its leases acquired, released and expired since the previous frame.'],
  [TopicActivity, 'TopicActivity', 'A topic, and the messages published to it since the previous frame.'],
  [SnapshotFrame, 'SnapshotFrame', '`snapshot`: everything a dashboard shows; first, and again whenever resuming is not possible.'],
  [TasksFrame, 'TasksFrame', '`tasks`: task activity summed up every 250 ms while tasks move.'],
  [WorkerFrame, 'WorkerFrame', '`worker`: joined and left as they happen; stats once a tick for the workers whose heartbeats brought figures.'],
  [ChannelFrame, 'ChannelFrame', '`channel`: configured, stopped and deleted as they happen; appended once a tick per channel appended to.'],
  [QueuesFrame, 'QueuesFrame', '`queues`: the queues that changed since the previous frame.'],
  [LeasesFrame, 'LeasesFrame', '`leases`: the locks and semaphores that changed since the previous frame.'],
  [VariablesFrame, 'VariablesFrame', '`variables`: the variables set and deleted since the previous frame.'],
  [FlagsFrame, 'FlagsFrame', '`flags`: the flags set and cleared since the previous frame.'],
  [TopicsFrame, 'TopicsFrame', '`topics`: the topics that had messages or subscribers come and go since the previous frame.'],
];

/**
 * Name the component schemas in zod's global registry, where
 * fastify-type-provider-zod finds them (it turns a registered schema into a
 * $ref). The metadata a schema has already (its description) is kept. Done
 * once per process; the schemas module itself registers nothing, so a
 * program that imports sluice/schemas finds its own registry as it left it.
 */
export function registerComponents(): void {
  for (const [schema, id, description] of COMPONENTS) {
    const meta = z.globalRegistry.get(schema);
    if (meta?.id === id) continue;
    z.globalRegistry.add(schema, { ...meta, id, ...(description === undefined ? {} : { description }) });
  }
}
