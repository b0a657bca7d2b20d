import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AppendBody,
  AppendReply,
  ChannelConfig,
  ChannelEventsQuery,
  ChannelInfo,
  ChannelParams,
  ChannelSnapshot,
  ChannelEntry,
  ChannelStop,
  SnapshotQuery,
} from '../../schemas/channels.ts';
import { errors } from '../errors.ts';
import { callerOf } from './caller.ts';
import { errorReplies } from '../docs/replies.ts';
import { sseEvents } from '../docs/sse.ts';

const NoContent = z.null().describe('Deleted.');

/** Channels: create, append, read, follow over SSE, stop, delete. */
const channelsRoutes: FastifyPluginAsyncZod = async (app) => {
  const channels = app.channels;

  app.get('/channels', { schema: { summary: 'Every channel, with its length', operationId: 'channelList', response: { 200: z.array(ChannelInfo).describe('Every channel.') } } }, async () =>
    channels.list(),
  );

  app.put(
    '/channels/:name',
    {
      schema: {
        summary: 'Create a channel, or set its maxlen',
        operationId: 'channelConfigure',
        description:
          'Idempotent. A maxlen below the current length would drop the oldest entries at once (letting go of their futures): that needs an admin token, and a client token gets 403 with nothing changed. Raising maxlen, or lowering it to no less than the length, needs a client token; later appends past maxlen push the oldest entries out (deque semantics).',
        params: ChannelParams,
        body: ChannelConfig,
        response: { 200: ChannelInfo, ...errorReplies('SLUICE_ERR_FORBIDDEN', 'SLUICE_ERR_OVERLOADED') },
      },
    },
    async (request) => {
      channels.configure(request.params.name, request.body.maxlen, request.scope === 'admin');
      await app.store.committed();
      return channels.info(request.params.name);
    },
  );

  app.post(
    '/channels/:name/append',
    {
      schema: {
        summary: 'Append futures: existing keys, or new tasks submitted in the same write',
        operationId: 'channelAppend',
        clientSession: 'optional',
        description:
          'Answers 201 once the entries are committed; the scheduler assigns each a sequence number, the one order every reader sees. An unknown key is a 404 naming it, a stopped channel a 409. The channel is created if it does not exist.',
        params: ChannelParams,
        body: AppendBody,
        response: {
          201: AppendReply,
          ...errorReplies('SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_CHANNEL_STOPPED', 'SLUICE_ERR_KEY_CONFLICT', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED'),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const body = request.body;
      const answer =
        'tasks' in body
          ? channels.appendTasks(name, body.tasks, callerOf(request), body.fireAndForget, body.idempotencyKey)
          : channels.append(name, 'keys' in body ? body.keys : [body.key], body.idempotencyKey);
      await app.store.committed();
      reply.code(201);
      return answer;
    },
  );

  app.get(
    '/channels/:name',
    {
      schema: {
        summary: 'The channel now: its entries in order, with their futures’ status',
        operationId: 'channelInfo',
        params: ChannelParams,
        querystring: SnapshotQuery,
        response: { 200: ChannelSnapshot, ...errorReplies('SLUICE_ERR_UNKNOWN_CHANNEL') },
      },
    },
    async (request) => channels.snapshot(request.params.name, request.query.from, request.query.limit),
  );

  app.get(
    '/channels/:name/events',
    {
      sse: 'only',
      schema: {
        summary: 'SSE: replay the entries, then follow new ones until the channel stops',
        operationId: 'channelEntries',
        clientSession: 'optional',
        description:
          'event: append (id = seq, data {seq, key, status}) for each entry after ?from= or Last-Event-ID; event: status {seq, key, status} when a future already shown ends; event: stop, then the stream closes. A reader that reconnects with Last-Event-ID misses no entry and sees none twice.',
        params: ChannelParams,
        querystring: ChannelEventsQuery,
        response: errorReplies('SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_CHANNEL'),
        events: sseEvents('The entries after ?from= or Last-Event-ID, in order, then each new one as it is appended; the status of entries already sent as their tasks end; `stop` last, if the channel stops.', {
          append: { data: ChannelEntry, id: 'The entry’s sequence number: send it back as Last-Event-ID to resume after it.', description: 'An entry, in channel order.' },
          status: { data: ChannelEntry, description: 'A future already sent ended: its new status.' },
          stop: { data: ChannelStop, description: 'The channel is stopped; the stream closes after this event.' },
        }),
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      channels.info(name); // 404 before the stream opens
      const lastEventId = request.headers['last-event-id'];
      let after = (request.query.from ?? 1) - 1;
      if (typeof lastEventId === 'string' && lastEventId !== '') {
        after = Number(lastEventId);
        if (!Number.isInteger(after) || after < 0) {
          throw errors.badLastEventId(lastEventId);
        }
      }
      const stream = app.scheduler.streams.open(request, reply, 'channel');
      channels.subscribe(name, stream, after);
    },
  );

  app.post(
    '/channels/:name/stop',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Stop the channel: every iteration by every client ends; later appends get 409',
        operationId: 'channelStop',
        params: ChannelParams,
        response: { 200: ChannelInfo, ...errorReplies('SLUICE_ERR_UNKNOWN_CHANNEL') },
      },
    },
    async (request) => {
      channels.stop(request.params.name);
      await app.store.committed();
      return channels.info(request.params.name);
    },
  );

  app.delete(
    '/channels/:name',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Delete the channel; its futures are released',
        operationId: 'channelDelete',
        params: ChannelParams,
        response: { 204: NoContent, ...errorReplies('SLUICE_ERR_UNKNOWN_CHANNEL') },
      },
    },
    async (request, reply) => {
      channels.delete(request.params.name);
      await app.store.committed();
      return reply.code(204).send(null);
    },
  );
};

export default channelsRoutes;
