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

/**
 * Every {"$future": key} inside value, with where it is. Iterative: a value
 * may nest deeper than the stack goes. A path is built only for what is
 * found, from links to the parent.
 */
function futureRefs(value: unknown): Array<{ path: Array<string | number>; key: string }> {
  interface Step {
    value: unknown;
    parent: Step | undefined;
    at: string | number;
  }
  const found: Array<{ path: Array<string | number>; key: string }> = [];
  const pathOf = (step: Step): Array<string | number> => {
    const path: Array<string | number> = [];
    for (let s: Step | undefined = step; s?.parent; s = s.parent) path.push(s.at);
    return path.reverse();
  };
  const stack: Step[] = [{ value, parent: undefined, at: '' }];
  while (stack.length > 0) {
    const step = stack.pop() as Step;
    const v = step.value;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) if (v[i] !== null && typeof v[i] === 'object') stack.push({ value: v[i], parent: step, at: i });
      continue;
    }
    const entries = Object.entries(v);
    if (entries.length === 1 && entries[0][0] === FUTURE_REF && typeof entries[0][1] === 'string') {
      found.push({ path: pathOf(step), key: entries[0][1] });
      continue;
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, item] = entries[i];
      if (item !== null && typeof item === 'object') stack.push({ value: item, parent: step, at: k });
    }
  }
  return found;
}
