import { z } from 'zod';
import { ChannelName } from './common.ts';
import { CHANNEL_PATTERN } from './constants.ts';

/** A consumer name: the same characters as a channel name. */
export const ConsumerName = z
  .string()
  .regex(CHANNEL_PATTERN, {
    message: 'a consumer name is 1 to 128 characters from A-Z a-z 0-9 _ . : -, starting with a letter or digit',
  })
  .describe('A consumer name: who is reading the channel (a pipeline, a service).');

export const ConsumerParams = z.object({ name: ChannelName, consumer: ConsumerName });
export const ConsumersParams = z.object({ name: ChannelName });

/** A consumer's position in a channel. */
export const ConsumerPosition = z.object({
  channel: z.string(),
  consumer: z.string(),
  seq: z
    .number()
    .describe('The last entry the consumer has finished with: it resumes at seq + 1. 0: nothing yet (it starts at the oldest entry).'),
  updatedAt: z.string().nullable().describe('When the position was last moved (ISO 8601); null if it never was.'),
});
export type ConsumerPosition = z.infer<typeof ConsumerPosition>;

export const ConsumerList = z.array(ConsumerPosition);

export const CommitBody = z
  .object({
    seq: z.number().int().min(0).describe('The last entry finished with; at most the channel’s lastSeq.'),
    rewind: z.boolean().optional().describe('Set the position even if it moves back (default: a lower seq leaves the position where it is).'),
  })
  .strict();
export type CommitBody = z.output<typeof CommitBody>;
