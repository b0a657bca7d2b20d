import { z } from 'zod';
import { IdempotencyKey, JsonValue, nameOf, required, WaitSeconds } from './coordination.ts';

export const QueueName = nameOf('queue');
export const QueueParams = z.object({ name: QueueName });

/** A queue as answers show it. */
export const QueueInfo = z.object({
  name: z.string(),
  size: z.number().describe('Items waiting to be taken.'),
  maxsize: z.number().nullable().describe('A put waits while the queue holds this many items; null: unbounded.'),
  getters: z.number().describe('Callers waiting for an item.'),
  putters: z.number().describe('Callers waiting for room.'),
  leased: z.number().describe('Items leased to getters (a get with ack) and not yet acknowledged: out of line, back in it if their lease ends.'),
});
export type QueueInfo = z.infer<typeof QueueInfo>;

export const QueueConfig = z
  .object({
    maxsize: z.number().int().min(1).nullable().optional().describe('Set the maximum size (null: unbounded); absent: unchanged.'),
  })
  .strict();

/** An item of a queue. */
export const QueueItem = JsonValue('item');

export const PutBody = z.union([
  z
    .object({ item: QueueItem.optional(), idempotencyKey: IdempotencyKey.optional() })
    .strict()
    .superRefine(required({ item: 'any JSON value, or {"$future": key} for a future' })),
  z.object({ items: z.array(QueueItem).min(1), idempotencyKey: IdempotencyKey.optional() }).strict(),
]);
export type PutBody = z.output<typeof PutBody>;

export const PutQuery = z
  .object({ timeout: WaitSeconds.optional().describe('Seconds a put on a full queue waits for room (default: until there is).') })
  .strict();

export const PutReply = z.object({ size: z.number().describe('Items waiting in the queue once this put was stored.') });

export const GetQuery = z
  .object({
    timeout: WaitSeconds.optional().describe('Seconds to wait for an item (default: until one comes; 0: do not wait).'),
    batch: z.coerce
      .number({ message: 'batch is a number of items' })
      .int()
      .min(1)
      .optional()
      .describe('Take up to this many items: waits for the first, then takes what is there. Default 1.'),
    ack: z
      .enum(['true', 'false'], { message: 'ack is true or false' })
      .transform((v) => v === 'true')
      .optional()
      .describe('true: lease the items rather than take them; they stay in the queue, out of line, until acknowledged (POST /queues/:name/ack) or given back.'),
    ttlMs: z.coerce
      .number({ message: 'ttlMs is a number of milliseconds' })
      .int()
      .min(100)
      .max(24 * 3600 * 1000)
      .optional()
      .describe('With ack: the lease lapses, and the items go back in line, unless renewed within this long. Default 30000.'),
  })
  .strict();

export const GetReply = z.object({
  items: z.array(z.unknown()).describe('The items, oldest first, as they were put.'),
  lease: z
    .object({
      id: z.string().describe('The lease id, for ack, release and renew.'),
      ttlMs: z.number(),
      ids: z.array(z.number()).describe('The items’ ids, in the order of items.'),
    })
    .optional()
    .describe('With ?ack=true: the lease the items are held under.'),
});
