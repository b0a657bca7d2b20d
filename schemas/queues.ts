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
});
export type QueueInfo = z.infer<typeof QueueInfo>;

export const QueueConfig = z
  .object({
    maxsize: z.number().int().min(1).nullable().optional().describe('Set the maximum size (null: unbounded); absent: unchanged.'),
  })
  .strict();

const Item = JsonValue('item');

export const PutBody = z.union([
  z
    .object({ item: Item.optional(), idempotencyKey: IdempotencyKey.optional() })
    .strict()
    .superRefine(required({ item: 'any JSON value, or {"$future": key} for a future' })),
  z.object({ items: z.array(Item).min(1), idempotencyKey: IdempotencyKey.optional() }).strict(),
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
  })
  .strict();

export const GetReply = z.object({ items: z.array(z.unknown()).describe('The items, oldest first, as they were put.') });
