import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WorkerInfo } from '../../schemas/firehose.ts';
import { WorkerExitReport } from '../../schemas/worker-protocol.ts';
import { workerInfo } from '../firehose.ts';
import { VERSION } from '../version.ts';

const Health = z.object({ status: z.enum(['ok', 'shutting-down']), version: z.string(), uptimeS: z.number() });
const ExitAnswer = z
  .object({ workerId: z.string().nullable(), tasks: z.array(z.string()) })
  .describe('The worker as the scheduler knew it (null if it never joined), and the tasks it was running.');

/** Health and the workers. */
const clusterRoutes: FastifyPluginAsyncZod = async (app) => {
  const scheduler = app.scheduler;

  app.get('/health', { config: { scope: 'public' }, schema: { summary: 'Liveness', operationId: 'health', response: { 200: Health.describe('Up.'), 503: Health.describe('Shutting down: it takes no new work.') } } }, async (request, reply) => {
    const uptimeS = Math.round((Date.now() - scheduler.startedAt) / 1000);
    if (scheduler.closing) return reply.code(503).send({ status: 'shutting-down', version: VERSION, uptimeS });
    return { status: 'ok' as const, version: VERSION, uptimeS };
  });

  app.get('/workers', { schema: { summary: 'Connected workers', operationId: 'workerList', response: { 200: z.array(WorkerInfo).describe('The workers connected now.') } } }, async () =>
    [...scheduler.core.workers()].map(workerInfo),
  );

  app.post(
    '/workers/exited',
    {
      config: { scope: 'worker' },
      schema: {
        summary: 'A supervisor reports how a worker process ended',
        operationId: 'workerExited',
        description:
          'Sent by `sluice worker` (and `sluice up`) when a worker process it supervises ends. The scheduler logs the exit code or signal ' +
          'with the tasks the worker was running; a task lost with it says how the worker died.',
        body: WorkerExitReport,
        response: { 200: ExitAnswer },
      },
    },
    async (request) => scheduler.workerExited(request.body),
  );
};

export default clusterRoutes;
