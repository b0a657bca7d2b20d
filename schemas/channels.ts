import { z } from 'zod';
import { ChannelName, FutureStatus, Key } from './common.ts';
import { TaskSpec } from './tasks.ts';

export const ChannelParams = z.object({ name: ChannelName });

/** A channel as lists and answers show it. */
export const ChannelInfo = z.object({
  name: z.string(),
  length: z.number().describe('Entries present now.'),
  maxlen: z.number().nullable().describe('Oldest entries fall off beyond this length; null: unbounded.'),
  stopped: z.boolean(),
  lastSeq: z.number().describe('The sequence number of the newest entry; 0 before the first append.'),
});
export type ChannelInfo = z.infer<typeof ChannelInfo>;

export const ChannelConfig = z
  .object({
    maxlen: z.number().int().min(1).nullable().optional().describe('Set the maximum length (null: unbounded); absent: unchanged.'),
  })
  .strict();

const IdempotencyKey = z
  .string()
  .min(1)
  .max(128)
  .describe('A retried append with the same idempotency key is a no-op that answers as the first one did.');

export const AppendBody = z.union([
  z.object({ key: Key, idempotencyKey: IdempotencyKey.optional() }).strict(),
  z.object({ keys: z.array(Key).min(1), idempotencyKey: IdempotencyKey.optional() }).strict(),
  z
    .object({
      tasks: z.array(TaskSpec.omit({ channel: true })).min(1),
      fireAndForget: z.boolean().optional(),
      idempotencyKey: IdempotencyKey.optional(),
    })
    .strict(),
]);
export type AppendBody = z.output<typeof AppendBody>;

export const AppendReply = z.object({ seqs: z.array(z.number()), keys: z.array(Key) });

export const ChannelEntry = z.object({ seq: z.number(), key: z.string(), status: FutureStatus });
export type ChannelEntry = z.infer<typeof ChannelEntry>;

/** `event: stop` on a channel's stream, the last before it closes. */
export const ChannelStop = z.object({ name: z.string(), lastSeq: z.number().describe('The last entry the channel will ever have.') });
export type ChannelStop = z.infer<typeof ChannelStop>;

export const ChannelSnapshot = ChannelInfo.extend({
  futures: z.array(ChannelEntry),
  nextFrom: z.number().optional().describe('More entries follow: ask again with ?from= this.'),
});

export const SnapshotQuery = z
  .object({
    from: z.coerce.number().int().min(1).optional().describe('First sequence number to list.'),
    limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  })
  .strict();

export const ChannelEventsQuery = z
  .object({
    from: z.coerce.number().int().min(1).optional().describe('Replay from this sequence number (default: the oldest entry); Last-Event-ID takes precedence.'),
  })
  .strict();
