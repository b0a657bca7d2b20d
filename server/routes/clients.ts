import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ClientId } from '../../schemas/common.ts';
import { SluiceError } from '../errors.ts';
import { sseFrame } from '../sse/sse-stream.ts';
import { callerOf } from './caller.ts';

const ClientParams = z.object({ id: ClientId });

/** Client sessions: the one SSE stream each client reads, and goodbye. */
const clientsRoutes: FastifyPluginAsyncZod = async (app) => {
  const scheduler = app.scheduler;

  app.get(
    '/clients/:id/events',
    {
      sse: 'only',
      schema: {
        summary: "SSE: the client's futures as they end (event: status)",
        description:
          'A client reads one stream. Each future it holds that finishes, errs, is cancelled or lost is announced here, with the result inline up to a size limit (larger ones carry resultOmitted: true). While the stream is open the session keeps its futures; once it has been closed longer than the lease, they are released.',
        params: ClientParams,
      },
    },
    async (request, reply) => {
      const stream = app.scheduler.streams.open(request, reply, 'client');
      scheduler.clients.attach(request.params.id, stream);
      stream.write(sseFrame('ready', JSON.stringify({ clientId: request.params.id, startedAt: scheduler.startedAt })));
    },
  );

  app.delete(
    '/clients/:id',
    {
      schema: { summary: 'End a client session: its streams close and its futures are released', params: ClientParams },
    },
    async (request, reply) => {
      if (request.scope !== 'admin' && callerOf(request).clientId !== request.params.id) {
        throw new SluiceError('SLUICE_ERR_FORBIDDEN', `only client ${request.params.id} itself (its sluice-client header) or an admin token may end its session`);
      }
      scheduler.clients.end(request.params.id);
      scheduler.releaseClient(request.params.id);
      await app.store.committed();
      return reply.code(204).send(null);
    },
  );
};

export default clientsRoutes;
