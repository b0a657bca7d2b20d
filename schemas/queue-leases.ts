import { z } from 'zod';
import { QueueParams } from './queues.ts';

export { QueueParams };

const LeaseId = z.string().min(1).max(128).describe('The lease id a get with ?ack=true answered.');

export const AckBody = z
  .object({
    leaseId: LeaseId,
    ids: z.array(z.number().int()).min(1).optional().describe('Only these items of the lease (their ids, from the get’s answer); default: all of them.'),
  })
  .strict();
export type AckBody = z.output<typeof AckBody>;

/** What to give back: the same shape as an ack. */
export const ReleaseBody = AckBody;

export const RenewBody = z.object({ leaseId: LeaseId }).strict();

const LeaseState = {
  leaseId: z.string(),
  queue: z.string(),
  ttlMs: z.number(),
  expiresAt: z.string().describe('When the lease lapses unless renewed (ISO 8601).'),
  ids: z.array(z.number()).describe('Items still under the lease; empty once it has ended.'),
};

export const QueueLeaseAnswer = z.object(LeaseState);
export const AckReply = z.object({ ...LeaseState, acked: z.number().describe('Items acknowledged by this call: they left the queue.') });
export const ReleaseReply = z.object({ ...LeaseState, released: z.number().describe('Items given back by this call: at the front of the line again.') });
