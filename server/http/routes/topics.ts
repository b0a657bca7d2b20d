import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { checkNesting } from '../plugins/json-body.ts';
import { routeOptions } from './route-options.ts';

/** Pub/sub: publish, subscribe over SSE. */
const topicsRoutes: FastifyPluginAsyncZod = async (app) => {
  const topics = app.topics;

  app.route({
    ...routeOptions(HTTP_API.topicPublish, {
      summary: 'Publish a message to every subscriber of the topic',
      config: { writes: false, durable: false, notDurableBecause: 'writes nothing: messages are not persisted' },
      description: 'Not persisted: subscribers connected now get it, in publish order; answers how many. A message over --max-message-bytes is a 413; a new topic when --max-topics topics are in memory, each with a subscriber, a 503.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request) => {
      checkNesting(request, 'body.message', request.body.message);
      return { delivered: topics.publish(request.params.name, request.body.message) };
    },
  });

  app.route({
    ...routeOptions(HTTP_API.topicInfo, { summary: 'How many subscribe to the topic, and how many messages it has had' }),
    handler: async (request) => topics.info(request.params.name),
  });

  app.route({
    ...routeOptions(HTTP_API.topicSubscribe, {
      summary: 'SSE: the messages published from now on (event: message)',
      clientSession: 'optional',
      description:
        'event: message, data the message as published, id <incarnation>-<seq>. Reconnecting with Last-Event-ID replays what was missed from the newest messages of the topic (--topic-replay-bytes, and --topic-replay-total-bytes for all topics); if more was missed, or the scheduler restarted, an event: gap {missed, reason} comes first.',
      errors: ['SLUICE_ERR_OVERLOADED'],
      stream: {
        description: 'The messages published from now on, in publish order; after a reconnection with Last-Event-ID, those missed that are still kept first, or a `gap`.',
        events: {
          message: { id: '`<incarnation>-<seq>`: send it back as Last-Event-ID to resume after it.', description: 'A message.' },
          gap: { description: 'Messages were missed that cannot be replayed.' },
        },
      },
    }),
    handler: async (request, reply) => {
      topics.assertRoom(request.params.name); // 503 before the stream opens
      const stream = app.streams.open(request, reply, 'topic');
      const lastEventId = request.headers['last-event-id'];
      topics.subscribe(request.params.name, stream, typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined);
    },
  });
};

export default topicsRoutes;
