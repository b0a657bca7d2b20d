import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { leaseRoutes } from './lease-routes.ts';
import { routeOptions } from './route-options.ts';

const leases = leaseRoutes('semaphore');

/** Semaphores, Dask's Semaphore: up to maxLeases leases at once. */
const semaphoresRoutes: FastifyPluginAsyncZod = async (app) => {
  app.route({
    ...routeOptions(HTTP_API.semaphoreConfigure, {
      summary: 'Create a semaphore, or set its maxLeases',
      config: { durable: true },
      description: 'Lowering maxLeases revokes nothing: new leases wait until fewer are held.',
    }),
    handler: async (request) => app.leases.configure(request.params.name, request.body.maxLeases),
  });
  await app.register(leases);
};

export default semaphoresRoutes;
