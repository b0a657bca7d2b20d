import { z } from 'zod';
import { nameOf, required } from './coordination.ts';

export const TopicName = nameOf('topic');
export const TopicParams = z.object({ name: TopicName });

export const PublishBody = z
  .object({ message: z.unknown().optional().describe('Any JSON value.') })
  .strict()
  .superRefine(required({ message: 'any JSON value' }));

export const PublishReply = z.object({ delivered: z.number().describe('Subscribers the message was sent to.') });

export const TopicInfo = z.object({
  name: z.string(),
  subscribers: z.number(),
  lastSeq: z.number().describe('Messages published to the topic since the scheduler started.'),
});

/** `event: gap` on a topic's stream: messages were missed and cannot be replayed. */
export const TopicGap = z.object({
  missed: z.number().nullable().describe('How many messages were missed; null when not known (the scheduler restarted, or forgot the idle topic).'),
  reason: z.string(),
});
export type TopicGap = z.infer<typeof TopicGap>;
