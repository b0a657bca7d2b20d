import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CommitBody, ConsumerList, ConsumerParams, ConsumerPosition, ConsumersParams } from '../../schemas/channel-consumers.ts';
import { ErrorBody } from '../../schemas/errors.ts';

const NoContent = z.null().describe('No content');

/** Consumers' durable positions in channels (where a stream pipeline resumes). */
const channelConsumersRoutes: FastifyPluginAsyncZod = async (app) => {
  const consumers = app.channelConsumers;

  app.get(
    '/channels/:name/consumers',
    { schema: { summary: 'The consumers of a channel and their positions', params: ConsumersParams, response: { 200: ConsumerList, 404: ErrorBody } } },
    async (request) => consumers.list(request.params.name),
  );

  app.get(
    '/channels/:name/consumers/:consumer',
    {
      schema: {
        summary: 'A consumer’s position: the last entry it has finished with',
        description: 'A consumer that never committed is at 0 (it starts at the oldest entry). 404 for an unknown channel.',
        params: ConsumerParams,
        response: { 200: ConsumerPosition, 404: ErrorBody },
      },
    },
    async (request) => consumers.get(request.params.name, request.params.consumer),
  );

  app.put(
    '/channels/:name/consumers/:consumer',
    {
      schema: {
        summary: 'Commit a consumer’s position',
        description:
          'Answers once the position is committed to disk. It only moves forward: a lower seq leaves it where it is (the answer shows where), unless rewind is true. A seq past the channel’s last entry is a 400. Deleting the channel deletes its consumers.',
        params: ConsumerParams,
        body: CommitBody,
        response: { 200: ConsumerPosition, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const answer = consumers.commit(request.params.name, request.params.consumer, request.body.seq, request.body.rewind);
      await app.store.committed();
      return answer;
    },
  );

  app.delete(
    '/channels/:name/consumers/:consumer',
    {
      schema: {
        summary: 'Forget a consumer: it starts again at the oldest entry',
        params: ConsumerParams,
        response: { 204: NoContent, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      consumers.delete(request.params.name, request.params.consumer);
      await app.store.committed();
      return reply.code(204).send(null);
    },
  );
};

export default channelConsumersRoutes;
