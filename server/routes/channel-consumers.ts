import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CommitBody, ConsumerList, ConsumerParams, ConsumerPosition, ConsumersParams } from '../../schemas/channel-consumers.ts';
import { errorReplies } from '../docs/replies.ts';

const NoContent = z.null().describe('Forgotten.');

/** Consumers' durable positions in channels (where a stream pipeline resumes). */
const channelConsumersRoutes: FastifyPluginAsyncZod = async (app) => {
  const consumers = app.channelConsumers;

  app.get(
    '/channels/:name/consumers',
    {
      schema: {
        summary: 'The consumers of a channel and their positions',
        operationId: 'channelConsumers',
        params: ConsumersParams,
        response: { 200: ConsumerList.describe('The consumers that committed a position, by name.'), ...errorReplies('SLUICE_ERR_UNKNOWN_CHANNEL') },
      },
    },
    async (request) => consumers.list(request.params.name),
  );

  app.get(
    '/channels/:name/consumers/:consumer',
    {
      schema: {
        summary: 'A consumer’s position: the last entry it has finished with',
        operationId: 'channelPosition',
        description: 'A consumer that never committed is at 0 (it starts at the oldest entry). 404 for an unknown channel.',
        params: ConsumerParams,
        response: { 200: ConsumerPosition, ...errorReplies('SLUICE_ERR_UNKNOWN_CHANNEL') },
      },
    },
    async (request) => consumers.get(request.params.name, request.params.consumer),
  );

  app.put(
    '/channels/:name/consumers/:consumer',
    {
      schema: {
        summary: 'Commit a consumer’s position',
        operationId: 'channelCommit',
        description:
          'Answers once the position is committed to disk. It only moves forward: a lower seq leaves it where it is (the answer shows where), unless rewind is true. A seq past the channel’s last entry is a 400. Deleting the channel deletes its consumers.',
        params: ConsumerParams,
        body: CommitBody,
        response: { 200: ConsumerPosition, ...errorReplies('SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_CHANNEL') },
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
        operationId: 'channelConsumerDelete',
        params: ConsumerParams,
        response: { 204: NoContent, ...errorReplies('SLUICE_ERR_UNKNOWN_CHANNEL') },
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
