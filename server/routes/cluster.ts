import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VERSION } from '../version.ts';

const Health = z.object({ status: z.enum(['ok', 'shutting-down']), version: z.string(), uptimeS: z.number() });
const WorkerInfo = z.object({
  id: z.string(),
  name: z.string(),
  functions: z.array(z.string()),
  concurrency: z.number(),
  processing: z.number(),
  draining: z.boolean(),
  connectedAt: z.string(),
  lastHeartbeatAt: z.string(),
});

/** Health and the workers. */
const clusterRoutes: FastifyPluginAsyncZod = async (app) => {
  const scheduler = app.scheduler;

  app.get('/health', { config: { scope: 'public' }, schema: { summary: 'Liveness', response: { 200: Health, 503: Health } } }, async (request, reply) => {
    const uptimeS = Math.round((Date.now() - scheduler.startedAt) / 1000);
    if (scheduler.closing) return reply.code(503).send({ status: 'shutting-down', version: VERSION, uptimeS });
    return { status: 'ok' as const, version: VERSION, uptimeS };
  });

  app.get('/workers', { schema: { summary: 'Connected workers', response: { 200: z.array(WorkerInfo) } } }, async () =>
    [...scheduler.core.workers()].map((w) => ({
      id: w.id,
      name: w.name,
      functions: [...w.functions],
      concurrency: w.concurrency,
      processing: w.tasks.size,
      draining: w.draining,
      connectedAt: new Date(w.connectedAt).toISOString(),
      lastHeartbeatAt: new Date(w.lastHeartbeatAt).toISOString(),
    })),
  );
};

export default clusterRoutes;
