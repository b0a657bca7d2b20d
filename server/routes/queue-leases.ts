import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AckBody, AckReply, QueueLeaseAnswer, QueueParams, ReleaseBody, ReleaseReply, RenewBody } from '../../schemas/queue-leases.ts';
import { errorReplies } from '../docs/replies.ts';

/** Acknowledging, giving back and renewing queue items leased by a get with ?ack=true. */
const queueLeasesRoutes: FastifyPluginAsyncZod = async (app) => {
  const leases = app.queueLeases;

  app.post(
    '/queues/:name/ack',
    {
      schema: {
        summary: 'Acknowledge leased items: they leave the queue for good',
        operationId: 'queueLeaseAck',
        description:
          'Answers once the removal is committed. Without ids, every item of the lease. 409 SLUICE_ERR_LEASE_EXPIRED if the lease is not held any more (it lapsed, was released, or its client session ended): its items are back in the queue and may go to another getter.',
        params: QueueParams,
        body: AckBody,
        response: { 200: AckReply, ...errorReplies('SLUICE_ERR_VALIDATION', 'SLUICE_ERR_LEASE_EXPIRED') },
      },
    },
    async (request) => {
      const answer = leases.ack(request.params.name, request.body.leaseId, request.body.ids);
      await app.store.committed();
      return answer;
    },
  );

  app.post(
    '/queues/:name/release',
    {
      schema: {
        summary: 'Give leased items back: to the front of the line, for the next getter',
        operationId: 'queueLeaseRelease',
        description: 'Without ids, every item of the lease. 409 SLUICE_ERR_LEASE_EXPIRED if the lease is not held any more.',
        params: QueueParams,
        body: ReleaseBody,
        response: { 200: ReleaseReply, ...errorReplies('SLUICE_ERR_VALIDATION', 'SLUICE_ERR_LEASE_EXPIRED') },
      },
    },
    async (request) => {
      const answer = leases.release(request.params.name, request.body.leaseId, request.body.ids);
      await app.store.committed();
      return answer;
    },
  );

  app.post(
    '/queues/:name/renew',
    {
      schema: {
        summary: 'Renew a lease on queue items: its ttl counts again from now',
        operationId: 'queueLeaseRenew',
        params: QueueParams,
        body: RenewBody,
        response: { 200: QueueLeaseAnswer, ...errorReplies('SLUICE_ERR_LEASE_EXPIRED') },
      },
    },
    async (request) => leases.renew(request.params.name, request.body.leaseId),
  );
};

export default queueLeasesRoutes;
