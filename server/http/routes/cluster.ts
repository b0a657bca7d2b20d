import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Health, StandbyHealth } from '../../../schemas/cluster.ts';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { workerInfo } from '../../observability/firehose.ts';
import { VERSION } from '../../version.ts';
import { routeOptions } from './route-options.ts';

/** Health and the workers. */
const clusterRoutes: FastifyPluginAsyncZod = async (app) => {
  const scheduler = app.scheduler;

  app.route({
    ...routeOptions(HTTP_API.health, {
      summary: 'Liveness, and whether this scheduler leads',
      description:
        'A scheduler that serves leads: 200, `role: "leader"`. With several schedulers on one store, the others stand by: they answer 503 with ' +
        '`role: "standby"` and the URL of the one that leads (`leader`, null while none is known), so that load balancers and clients find it.',
      config: { scope: 'public' },
      replies: { 503: z.union([Health, StandbyHealth]).describe('Shutting down (it takes no new work), or standing by (another scheduler leads).') },
    }),
    handler: async (request, reply) => {
      const uptimeS = Math.round((Date.now() - scheduler.startedAt) / 1000);
      if (scheduler.closing) return reply.code(503).send({ status: 'shutting-down', role: 'leader', version: VERSION, uptimeS });
      return { status: 'ok' as const, role: 'leader' as const, version: VERSION, uptimeS };
    },
  });

  app.route({
    ...routeOptions(HTTP_API.workerList, { summary: 'Connected workers' }),
    handler: async () => [...scheduler.cluster.workers()].map(workerInfo),
  });

  app.route({
    ...routeOptions(HTTP_API.workerExited, {
      summary: 'A supervisor reports how a worker process ended',
      config: { scope: 'worker', durable: false, notDurableBecause: 'a report, answered at once: what it changes (the tasks lost with the worker) is announced only after its commit' },
      description:
        'Sent by `sluice worker` (and `sluice up`) when a worker process it supervises ends. The scheduler logs the exit code or signal ' +
        'with the tasks the worker was running; a task lost with it says how the worker died.',
    }),
    handler: async (request) => scheduler.workers.exited(request.body),
  });
};

export default clusterRoutes;
