import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_WAIT_S } from '../../schemas/coordination.ts';
import type { ErrorCode } from '../../schemas/errors.ts';
import { AcquireQuery, Lease, LeaseBody, LeasesInfo } from '../../schemas/leases.ts';
import type { AcquireRequest } from '../leases.ts';
import { presenceOf } from '../reply-delivery.ts';
import type { LeaseKind } from '../storage/sqlite/lease-store.ts';
import { errorReplies } from '../docs/replies.ts';
import { callerOf } from './caller.ts';

const NoContent = z.null().describe('Released.');

/**
 * acquire, renew, release and GET for locks (/locks/:name) and semaphores
 * (/semaphores/:name), which differ only in their names and in maxLeases.
 */
export function leaseRoutes(kind: LeaseKind, schemas: { params: z.ZodObject<{ name: z.ZodString }>; acquireBody: z.ZodType<AcquireRequest> }): FastifyPluginAsyncZod {
  const base = `/${kind}s/:name`;
  // Only a semaphore has a maxLeases an acquire can disagree with.
  const acquireErrors: ErrorCode[] = ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_TIMEOUT', ...(kind === 'semaphore' ? (['SLUICE_ERR_MAX_LEASES_CONFLICT'] as const) : []), 'SLUICE_ERR_OVERLOADED'];
  return async (app) => {
    const leases = app.leases;

    app.get(
      base,
      { schema: { summary: `Who holds the ${kind}, and how many wait`, operationId: `${kind}Info`, params: schemas.params, response: { 200: LeasesInfo } } },
      async (request) => leases.info(kind, request.params.name),
    );

    app.post(
      `${base}/acquire`,
      {
        schema: {
          summary: `Acquire a lease on the ${kind}`,
          operationId: `${kind}Acquire`,
          clientSession: 'optional',
          description:
            `Waits, first come first served, up to ?timeout= seconds (default: until a lease is free; 0: do not wait), then 408. ` +
            'The lease lapses unless renewed within ttlMs (default 30 s) of the grant or of its last renewal. The answer carries a fencing token higher than any given before for this name. ' +
            'A caller with a client session loses its leases when the session ends. If the connection fails before the answer is written, the lease is released.',
          params: schemas.params,
          querystring: AcquireQuery,
          body: schemas.acquireBody,
          response: { 200: Lease, ...errorReplies(...acquireErrors) },
        },
      },
      async (request, reply) => {
        const lease = await leases.acquire(kind, request.params.name, request.body, callerOf(request), {
          timeoutMs: (request.query.timeout ?? MAX_WAIT_S) * 1000,
          presence: presenceOf(reply),
        });
        app.scheduler.deliveries.watch(reply, { written: () => undefined, lost: () => leases.grantLost(lease) });
        await app.store.committed();
        const { kind: _, ...answer } = lease;
        return answer;
      },
    );

    app.post(
      `${base}/renew`,
      {
        config: { writes: false },
        schema: {
          summary: 'Extend the lease to ttlMs from now',
          operationId: `${kind}Renew`,
          description: '409 SLUICE_ERR_LEASE_EXPIRED if the lease is no longer held: it lapsed, or was released.',
          params: schemas.params,
          body: LeaseBody,
          response: { 200: Lease, ...errorReplies('SLUICE_ERR_LEASE_EXPIRED') },
        },
      },
      async (request) => {
        const { kind: _, ...answer } = leases.renew(kind, request.params.name, request.body.leaseId);
        return answer;
      },
    );

    app.post(
      `${base}/release`,
      {
        schema: {
          summary: 'Let go of the lease; the next caller in line gets one',
          operationId: `${kind}Release`,
          description: '409 SLUICE_ERR_LEASE_EXPIRED if the lease was no longer held: whatever was done under it may not have been exclusive.',
          params: schemas.params,
          body: LeaseBody,
          response: { 204: NoContent, ...errorReplies('SLUICE_ERR_LEASE_EXPIRED') },
        },
      },
      async (request, reply) => {
        leases.release(kind, request.params.name, request.body.leaseId);
        await app.store.committed();
        return reply.code(204).send(null);
      },
    );
  };
}
