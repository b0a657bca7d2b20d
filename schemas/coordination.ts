import { z } from 'zod';
import { CHANNEL_PATTERN, FUTURE_REF, KEY_PATTERN } from './constants.ts';

/**
 * Pieces shared by the coordination primitives (queues, variables, topics,
 * flags, locks, semaphores): their names, how long a call may wait, and the
 * JSON values they carry.
 */

/** A name of a queue, variable, topic, flag, lock or semaphore: the same characters as a channel name. */
export const nameOf = (kind: string) =>
  z
    .string()
    .regex(CHANNEL_PATTERN, {
      message: `a ${kind} name is 1 to 128 characters from A-Z a-z 0-9 _ . : -, starting with a letter or digit`,
    })
    .describe(`A ${kind} name.`);

export const MAX_WAIT_S = 24 * 3600;

/** ?timeout=<seconds>: how long a call waits (0: not at all). */
export const WaitSeconds = z.coerce
  .number({ message: 'timeout is a number of seconds' })
  .min(0)
  .max(MAX_WAIT_S)
  .describe('Seconds to wait; 0 does not wait.');

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(128)
  .describe('A retried request with the same idempotency key is a no-op that answers as the first one did.');

/**
 * A JSON value a primitive stores. An object whose only field is "$future"
 * refers to a future: its key must be well-formed here, and must exist when
 * the value is stored; the primitive then holds it.
 */
export const JsonValue = (what: string) =>
  z
    .unknown()
    .superRefine((value, ctx) => {
      for (const { path, key } of futureRefs(value)) {
        if (!KEY_PATTERN.test(key)) {
          ctx.addIssue({ code: 'custom', path: [...path, FUTURE_REF], message: `not a key: ${JSON.stringify(key.slice(0, 300))}` });
        }
      }
    })
    .describe(`${what}: any JSON value. {"${FUTURE_REF}": key}, anywhere inside, is a future that is held while stored.`);

/**
 * zod 4 reports a missing field of type unknown as "expected nonoptional";
 * declare such fields optional and require them here, with a message that
 * says what the field is.
 */
export function required<T extends Record<string, unknown>>(fields: Record<string, string>) {
  return (body: T, ctx: z.RefinementCtx): void => {
    for (const [field, what] of Object.entries(fields)) {
      if (body[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} is required: ${what}` });
    }
  };
}

/** Every {"$future": key} inside value, with where it is. */
function* futureRefs(value: unknown, path: Array<string | number> = []): Generator<{ path: Array<string | number>; key: string }> {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* futureRefs(item, [...path, i]);
    return;
  }
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === FUTURE_REF && typeof entries[0][1] === 'string') {
    yield { path, key: entries[0][1] };
    return;
  }
  for (const [k, item] of entries) yield* futureRefs(item, [...path, k]);
}
