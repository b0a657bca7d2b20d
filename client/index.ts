/**
 * The sluice client: submit tasks, await futures, share channels. Runs in Node
 * (on undici's fetch) and in browsers (on theirs); it imports nothing from Node.
 */
export { Channel, type ChannelOptions } from './channel.ts';
export { Client, type ClientOptions, type SubmitOptions } from './client.ts';
export { CancelledError, LostError, SluiceError, TaskError, TimeoutError } from './errors.ts';
export { Future } from './future.ts';
export { asCompleted, fireAndForget, wait, type WaitOptions } from './helpers.ts';
