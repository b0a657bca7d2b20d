/**
 * The sluice client: submit tasks, await futures, share channels, and
 * coordinate with queues, variables, topics, events, locks and semaphores. Runs in Node
 * (on undici's fetch) and in browsers (on theirs); it imports nothing from Node.
 */
export { Channel, type ChannelOptions } from './channel.ts';
export { Client, type ClientOptions, type SubmitOptions } from './client.ts';
export { CancelledError, LostError, SluiceError, TaskError, TimeoutError } from './errors.ts';
export { Flag } from './flag.ts';
export { Future } from './future.ts';
export { asCompleted, fireAndForget, wait, type WaitOptions } from './helpers.ts';
export { Lease, Lock, Semaphore, type AcquireOptions } from './lease.ts';
export { Queue, type QueueLeaseOptions, type QueueOptions, type QueueWaitOptions } from './queue.ts';
export { QueueLease } from './queue-lease.ts';
export { Subscription, Topic } from './topic.ts';
export { Variable, type VariableGetOptions, type VariableSetOptions } from './variable.ts';
