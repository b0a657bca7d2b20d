import { z } from 'zod';

/**
 * GET /health: whether the scheduler takes work, its version and how long it
 * has run. A scheduler that serves leads (one alone always does); with
 * several on one store, the others stand by and answer StandbyHealth.
 */
export const Health = z.object({ status: z.enum(['ok', 'shutting-down']), role: z.literal('leader'), version: z.string(), uptimeS: z.number() });
export type Health = z.infer<typeof Health>;

/** GET /health on a standby (503): it serves nothing; `leader` is the URL of the scheduler that leads, null while none is known. */
export const StandbyHealth = z.object({
  status: z.literal('standby'),
  role: z.literal('standby'),
  leader: z.string().nullable(),
  version: z.string(),
  uptimeS: z.number(),
});
export type StandbyHealth = z.infer<typeof StandbyHealth>;

/** POST /workers/exited: what the scheduler knew of the worker that ended. */
export const WorkerExited = z
  .object({ workerId: z.string().nullable(), tasks: z.array(z.string()) })
  .describe('The worker as the scheduler knew it (null if it never joined), and the tasks it was running.');
export type WorkerExited = z.infer<typeof WorkerExited>;
