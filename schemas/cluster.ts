import { z } from 'zod';

/** GET /health: whether the scheduler takes work, its version and how long it has run. */
export const Health = z.object({ status: z.enum(['ok', 'shutting-down']), version: z.string(), uptimeS: z.number() });
export type Health = z.infer<typeof Health>;

/** POST /workers/exited: what the scheduler knew of the worker that ended. */
export const WorkerExited = z
  .object({ workerId: z.string().nullable(), tasks: z.array(z.string()) })
  .describe('The worker as the scheduler knew it (null if it never joined), and the tasks it was running.');
export type WorkerExited = z.infer<typeof WorkerExited>;
