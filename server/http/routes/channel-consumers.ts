import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { routeOptions } from './route-options.ts';

/** Consumers' durable positions in channels (where a stream pipeline resumes). */
const channelConsumersRoutes: FastifyPluginAsyncZod = async (app) => {
  const consumers = app.channelConsumers;

  app.route({
    ...routeOptions(HTTP_API.channelConsumers, { summary: 'The consumers of a channel and their positions', errors: ['SLUICE_ERR_UNKNOWN_CHANNEL'] }),
    handler: async (request) => consumers.list(request.params.name),
  });

  app.route({
    ...routeOptions(HTTP_API.channelPosition, {
      summary: 'A consumer’s position: the last entry it has finished with',
      description: 'A consumer that never committed is at 0 (it starts at the oldest entry). 404 for an unknown channel.',
      errors: ['SLUICE_ERR_UNKNOWN_CHANNEL'],
    }),
    handler: async (request) => consumers.get(request.params.name, request.params.consumer),
  });

  app.route({
    ...routeOptions(HTTP_API.channelCommit, {
      summary: 'Commit a consumer’s position',
      config: { durable: true },
      description:
        'Answers once the position is committed to disk. It only moves forward: a lower seq leaves it where it is (the answer shows where), unless rewind is true. A seq past the channel’s last entry is a 400. Deleting the channel deletes its consumers.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_CHANNEL'],
    }),
    handler: async (request) => consumers.commit(request.params.name, request.params.consumer, request.body.seq, request.body.rewind),
  });

  app.route({
    ...routeOptions(HTTP_API.channelConsumerDelete, {
      summary: 'Forget a consumer: it starts again at the oldest entry',
      config: { durable: true },
      errors: ['SLUICE_ERR_UNKNOWN_CHANNEL'],
    }),
    handler: async (request, reply) => {
      consumers.delete(request.params.name, request.params.consumer);
      return reply.code(204).send(null);
    },
  });
};

export default channelConsumersRoutes;
