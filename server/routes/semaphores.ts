import { LeasesInfo, SemaphoreAcquireBody, SemaphoreConfig, SemaphoreParams } from '../../schemas/leases.ts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { leaseRoutes } from './lease-routes.ts';

const leases = leaseRoutes('semaphore', { params: SemaphoreParams, acquireBody: SemaphoreAcquireBody });

/** Semaphores, Dask's Semaphore: up to maxLeases leases at once. */
const semaphoresRoutes: FastifyPluginAsyncZod = async (app) => {
  app.put(
    '/semaphores/:name',
    {
      schema: {
        summary: 'Create a semaphore, or set its maxLeases',
        operationId: 'semaphoreConfigure',
        description: 'Lowering maxLeases revokes nothing: new leases wait until fewer are held.',
        params: SemaphoreParams,
        body: SemaphoreConfig,
        response: { 200: LeasesInfo },
      },
    },
    async (request) => {
      const answer = app.leases.configure(request.params.name, request.body.maxLeases);
      await app.store.committed();
      return answer;
    },
  );
  await app.register(leases);
};

export default semaphoresRoutes;
