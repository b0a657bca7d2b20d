import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { routeOptions } from './route-options.ts';

/** Acknowledging, giving back and renewing queue items leased by a get with ?ack=true. */
const queueLeasesRoutes: FastifyPluginAsyncZod = async (app) => {
  const leases = app.queueLeases;

  app.route({
    ...routeOptions(HTTP_API.queueLeaseAck, {
      summary: 'Acknowledge leased items: they leave the queue for good',
      config: { durable: true },
      description:
        'Answers once the removal is committed. Without ids, every item of the lease. 409 SLUICE_ERR_LEASE_EXPIRED if the lease is not held any more (it lapsed, was released, or its client session ended): its items are back in the queue and may go to another getter.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_LEASE_EXPIRED'],
    }),
    handler: async (request) => leases.ack(request.params.name, request.body.leaseId, request.body.ids),
  });

  app.route({
    ...routeOptions(HTTP_API.queueLeaseRelease, {
      summary: 'Give leased items back: to the front of the line, for the next getter',
      config: { durable: true },
      description: 'Without ids, every item of the lease. 409 SLUICE_ERR_LEASE_EXPIRED if the lease is not held any more.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_LEASE_EXPIRED'],
    }),
    handler: async (request) => leases.release(request.params.name, request.body.leaseId, request.body.ids),
  });

  app.route({
    ...routeOptions(HTTP_API.queueLeaseRenew, {
      summary: 'Renew a lease on queue items: its ttl counts again from now',
      config: { durable: false, notDurableBecause: 'writes nothing to the store: a lease’s expiry is kept in memory' },
      errors: ['SLUICE_ERR_LEASE_EXPIRED'],
    }),
    handler: async (request) => leases.renew(request.params.name, request.body.leaseId),
  });
};

export default queueLeasesRoutes;
