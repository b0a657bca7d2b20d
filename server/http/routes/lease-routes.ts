import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MAX_WAIT_S } from '../../../schemas/coordination.ts';
import type { ErrorCode } from '../../../schemas/errors.ts';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { presenceOf } from '../reply-delivery.ts';
import type { LeaseKind } from '../../storage/sqlite/lease-store.ts';
import { callerOf } from './caller.ts';
import { routeOptions } from './route-options.ts';

/** Each kind's routes in the table. */
const ROUTES_OF = {
  lock: { info: HTTP_API.lockInfo, acquire: HTTP_API.lockAcquire, renew: HTTP_API.lockRenew, release: HTTP_API.lockRelease },
  semaphore: { info: HTTP_API.semaphoreInfo, acquire: HTTP_API.semaphoreAcquire, renew: HTTP_API.semaphoreRenew, release: HTTP_API.semaphoreRelease },
} as const;

/**
 * acquire, renew, release and GET for locks (/locks/:name) and semaphores
 * (/semaphores/:name), which differ only in their names and in maxLeases.
 */
export function leaseRoutes(kind: LeaseKind): FastifyPluginAsyncZod {
  const routes = ROUTES_OF[kind];
  // Only a semaphore has a maxLeases an acquire can disagree with.
  const acquireErrors: ErrorCode[] = ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_TIMEOUT', ...(kind === 'semaphore' ? (['SLUICE_ERR_MAX_LEASES_CONFLICT'] as const) : []), 'SLUICE_ERR_OVERLOADED'];
  return async (app) => {
    const leases = app.leases;

    app.route({
      ...routeOptions(routes.info, { summary: `Who holds the ${kind}, and how many wait` }),
      handler: async (request) => leases.info(kind, request.params.name),
    });

    app.route({
      ...routeOptions(routes.acquire, {
        summary: `Acquire a lease on the ${kind}`,
        config: { durable: true },
        clientSession: 'optional',
        description:
          `Waits, first come first served, up to ?timeout= seconds (default: until a lease is free; 0: do not wait), then 408. ` +
          'The lease lapses unless renewed within ttlMs (default 30 s) of the grant or of its last renewal. The answer carries a fencing token higher than any given before for this name. ' +
          'A caller with a client session loses its leases when the session ends. If the connection fails before the answer is written, the lease is released.',
        errors: acquireErrors,
      }),
      handler: async (request, reply) => {
        const lease = await leases.acquire(kind, request.params.name, request.body, callerOf(request), {
          timeoutMs: (request.query.timeout ?? MAX_WAIT_S) * 1000,
          presence: presenceOf(reply),
        });
        // Watched from now on: the connection may fail while the commit is awaited (durable: true).
        app.deliveries.watch(reply, { written: () => undefined, lost: () => leases.grantLost(lease) });
        const { kind: _, ...answer } = lease;
        return answer;
      },
    });

    app.route({
      ...routeOptions(routes.renew, {
        summary: 'Extend the lease to ttlMs from now',
        config: { writes: false, durable: false, notDurableBecause: 'writes nothing to the store: a lease’s expiry is kept in memory' },
        description: '409 SLUICE_ERR_LEASE_EXPIRED if the lease is no longer held: it lapsed, or was released.',
        errors: ['SLUICE_ERR_LEASE_EXPIRED'],
      }),
      handler: async (request) => {
        const { kind: _, ...answer } = leases.renew(kind, request.params.name, request.body.leaseId);
        return answer;
      },
    });

    app.route({
      ...routeOptions(routes.release, {
        summary: 'Let go of the lease; the next caller in line gets one',
        config: { durable: true },
        description: '409 SLUICE_ERR_LEASE_EXPIRED if the lease was no longer held: whatever was done under it may not have been exclusive.',
        errors: ['SLUICE_ERR_LEASE_EXPIRED'],
      }),
      handler: async (request, reply) => {
        leases.release(kind, request.params.name, request.body.leaseId);
        return reply.code(204).send(null);
      },
    });
  };
}
