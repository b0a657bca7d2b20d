import { z } from 'zod';
import { nameOf, WaitSeconds } from './coordination.ts';

export const FlagName = nameOf('flag');
export const FlagParams = z.object({ name: FlagName });

export const FlagInfo = z.object({ name: z.string(), set: z.boolean() });

export const FlagQuery = z
  .object({ timeout: WaitSeconds.optional().describe('Seconds to wait until the flag is set (default: answer at once); 408 if it is not by then.') })
  .strict();
