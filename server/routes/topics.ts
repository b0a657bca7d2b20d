import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PublishBody, PublishReply, TopicGap, TopicInfo, TopicParams } from '../../schemas/topics.ts';
import { errorReplies } from '../docs/replies.ts';
import { sseEvents } from '../docs/sse.ts';
import { checkNesting } from '../plugins/json-body.ts';

/** Pub/sub: publish, subscribe over SSE. */
const topicsRoutes: FastifyPluginAsyncZod = async (app) => {
  const topics = app.topics;

  app.post(
    '/topics/:name/publish',
    {
      config: { writes: false },
      schema: {
        summary: 'Publish a message to every subscriber of the topic',
        operationId: 'topicPublish',
        description: 'Not persisted: subscribers connected now get it, in publish order; answers how many. A message over --max-message-bytes is a 413; a new topic when --max-topics topics are in memory, each with a subscriber, a 503.',
        params: TopicParams,
        body: PublishBody,
        response: { 200: PublishReply, ...errorReplies('SLUICE_ERR_VALIDATION', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED') },
      },
    },
    async (request) => {
      checkNesting(request, 'body.message', request.body.message);
      return { delivered: topics.publish(request.params.name, request.body.message) };
    },
  );

  app.get(
    '/topics/:name',
    { schema: { summary: 'How many subscribe to the topic, and how many messages it has had', operationId: 'topicInfo', params: TopicParams, response: { 200: TopicInfo } } },
    async (request) => topics.info(request.params.name),
  );

  app.get(
    '/topics/:name/events',
    {
      sse: 'only',
      schema: {
        summary: 'SSE: the messages published from now on (event: message)',
        operationId: 'topicSubscribe',
        clientSession: 'optional',
        description:
          'event: message, data the message as published, id <incarnation>-<seq>. Reconnecting with Last-Event-ID replays what was missed from the newest messages of the topic (--topic-replay-bytes, and --topic-replay-total-bytes for all topics); if more was missed, or the scheduler restarted, an event: gap {missed, reason} comes first.',
        params: TopicParams,
        response: errorReplies('SLUICE_ERR_OVERLOADED'),
        events: sseEvents('The messages published from now on, in publish order; after a reconnection with Last-Event-ID, those missed that are still kept first, or a `gap`.', {
          message: { data: z.unknown().describe('The message, as published.'), id: '`<incarnation>-<seq>`: send it back as Last-Event-ID to resume after it.', description: 'A message.' },
          gap: { data: TopicGap, description: 'Messages were missed that cannot be replayed.' },
        }),
      },
    },
    async (request, reply) => {
      topics.assertRoom(request.params.name); // 503 before the stream opens
      const stream = app.scheduler.streams.open(request, reply, 'topic');
      const lastEventId = request.headers['last-event-id'];
      topics.subscribe(request.params.name, stream, typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined);
    },
  );
};

export default topicsRoutes;
