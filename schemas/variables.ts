import { z } from 'zod';
import { JsonValue, nameOf, required, WaitSeconds } from './coordination.ts';
import { FencingToken, LockName, SemaphoreName } from './leases.ts';

export const VariableName = nameOf('variable');
export const VariableParams = z.object({ name: VariableName });

/**
 * A write that counts only while a lease is held: the scheduler checks the
 * token against the live leases in the same step as the write, so a holder
 * whose lease expired cannot overwrite what the next holder wrote.
 */
export const Fence = z
  .union([
    z.object({ lock: LockName, token: FencingToken }).strict(),
    z.object({ semaphore: SemaphoreName, token: FencingToken }).strict(),
  ])
  .describe('Refuse the write (409 SLUICE_ERR_STALE_TOKEN) unless the lease with this fencing token is held.');
export type Fence = z.infer<typeof Fence>;

export const VariableBody = z
  .object({ value: JsonValue('value').optional(), fence: Fence.optional() })
  .strict()
  .superRefine(required({ value: 'any JSON value, or {"$future": key} for a future' }));

export const VariableInfo = z.object({ name: z.string(), value: z.unknown() });

export const VariableQuery = z
  .object({ timeout: WaitSeconds.optional().describe('Seconds to wait until the variable is set (default: answer 404 at once if it is not).') })
  .strict();
