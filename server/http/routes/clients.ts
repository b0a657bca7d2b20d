import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CLIENT_HEADER, type ClientReady } from '../../../schemas/common.ts';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { errors } from '../../errors.ts';
import { sseFrame } from '../sse/sse-stream.ts';
import { callerOf, identityOf } from './caller.ts';
import { routeOptions } from './route-options.ts';

/** Client sessions: start one, the one SSE stream each reads, and goodbye. */
const clientsRoutes: FastifyPluginAsyncZod = async (app) => {
  const scheduler = app.scheduler;

  app.route({
    ...routeOptions(HTTP_API.clientStart, {
      summary: 'Start a client session: a public id and the credential that acts as it',
      config: { durable: true },
      description: `Answers 201 { id, session } once the session is committed. Send session (the credential) as the ${CLIENT_HEADER} header on every request that acts as the session, with the token that started it; id is what others see (lease holders, the firehose) and does not act as the session. The session lives while its stream (GET /clients/:id/events) is open or it makes requests; with neither for longer than the client lease it ends, and its credential with it.`,
      errors: ['SLUICE_ERR_RATE_LIMITED'],
    }),
    handler: async (request, reply) => {
      scheduler.assertOpen();
      const issued = app.clientSessions.issue(identityOf(request));
      reply.code(201);
      return issued;
    },
  });

  app.route({
    ...routeOptions(HTTP_API.clientEvents, {
      summary: "SSE: the client's futures as they end (event: status)",
      clientSession: 'required',
      description: `Needs the session's credential in the ${CLIENT_HEADER} header. A client reads one stream. Each future it holds that finishes, errs, is cancelled or lost is announced here, with the result inline up to a size limit (larger ones carry resultOmitted: true). While the stream is open the session lives and keeps its futures; once it has been closed (and the session unused) longer than the lease, the session ends and its futures are released.`,
      errors: ['SLUICE_ERR_CLIENT_REQUIRED', 'SLUICE_ERR_FORBIDDEN'],
      stream: {
        description: '`ready` first, then `status` for each future the session holds as its task ends.',
        events: {
          ready: { description: 'The stream is open. startedAt changes when the scheduler restarts: then ask again for the pending futures (POST /futures/hold).' },
        },
      },
    }),
    handler: async (request, reply) => {
      const { id } = request.params;
      const { clientId } = callerOf(request);
      if (clientId === undefined) {
        throw errors.sessionStreamNeedsCredential(id);
      }
      if (clientId !== id) throw errors.sessionStreamForeign(id);
      const stream = app.streams.open(request, reply, 'client');
      app.clientSessions.attach(id, stream);
      stream.write(sseFrame('ready', JSON.stringify({ clientId: id, startedAt: scheduler.startedAt } satisfies ClientReady)));
    },
  });

  app.route({
    ...routeOptions(HTTP_API.clientClose, {
      summary: 'End a client session: its streams close, its futures and leases are released, its credential stops working',
      config: { durable: true },
      clientSession: 'optional',
      description: `Needs the session's own credential (${CLIENT_HEADER} header) or an admin token.`,
      errors: ['SLUICE_ERR_FORBIDDEN'],
    }),
    handler: async (request, reply) => {
      const { id } = request.params;
      const { clientId } = callerOf(request);
      if (clientId !== id && request.scope !== 'admin') {
        throw errors.sessionEndForbidden(id);
      }
      app.clientSessions.end(id);
      return reply.code(204).send(null);
    },
  });
};

export default clientsRoutes;
