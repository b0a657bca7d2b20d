import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { errors } from '../../errors.ts';
import { callerOf } from './caller.ts';
import { routeOptions } from './route-options.ts';

/** Channels: create, append, read, follow over SSE, stop, delete. */
const channelsRoutes: FastifyPluginAsyncZod = async (app) => {
  const channels = app.channels;

  app.route({
    ...routeOptions(HTTP_API.channelList, { summary: 'Every channel, with its length' }),
    handler: async () => channels.list(),
  });

  app.route({
    ...routeOptions(HTTP_API.channelConfigure, {
      summary: 'Create a channel, or set its maxlen',
      config: { durable: true },
      description:
        'Idempotent. A maxlen below the current length would drop the oldest entries at once (letting go of their futures): that needs an admin token, and a client token gets 403 with nothing changed. Raising maxlen, or lowering it to no less than the length, needs a client token; later appends past maxlen push the oldest entries out (deque semantics).',
      errors: ['SLUICE_ERR_FORBIDDEN', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request) => {
      channels.configure(request.params.name, request.body.maxlen, request.scope === 'admin');
      return channels.info(request.params.name);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.channelAppend, {
      summary: 'Append futures: existing keys, or new tasks submitted in the same write',
      config: { durable: true },
      clientSession: 'optional',
      description:
        'Answers 201 once the entries are committed; the scheduler assigns each a sequence number, the one order every reader sees. An unknown key is a 404 naming it, a stopped channel a 409. The channel is created if it does not exist.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_CHANNEL_STOPPED', 'SLUICE_ERR_KEY_CONFLICT', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request, reply) => {
      const { name } = request.params;
      const body = request.body;
      const answer =
        'tasks' in body
          ? channels.appendTasks(name, body.tasks, callerOf(request), body.fireAndForget, body.idempotencyKey)
          : channels.append(name, 'keys' in body ? body.keys : [body.key], body.idempotencyKey);
      reply.code(201);
      return answer;
    },
  });

  app.route({
    ...routeOptions(HTTP_API.channelInfo, { summary: 'The channel now: its entries in order, with their futures’ status', errors: ['SLUICE_ERR_UNKNOWN_CHANNEL'] }),
    handler: async (request) => channels.snapshot(request.params.name, request.query.from, request.query.limit),
  });

  app.route({
    ...routeOptions(HTTP_API.channelEntries, {
      summary: 'SSE: replay the entries, then follow new ones until the channel stops',
      clientSession: 'optional',
      description:
        'event: append (id = seq, data {seq, key, status}) for each entry after ?from= or Last-Event-ID; event: status {seq, key, status} when a future already shown ends; event: stop, then the stream closes. A reader that reconnects with Last-Event-ID misses no entry and sees none twice.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_CHANNEL'],
      stream: {
        description: 'The entries after ?from= or Last-Event-ID, in order, then each new one as it is appended; the status of entries already sent as their tasks end; `stop` last, if the channel stops.',
        events: {
          append: { id: 'The entry’s sequence number: send it back as Last-Event-ID to resume after it.', description: 'An entry, in channel order.' },
          status: { description: 'A future already sent ended: its new status.' },
          stop: { description: 'The channel is stopped; the stream closes after this event.' },
        },
      },
    }),
    handler: async (request, reply) => {
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
      const stream = app.streams.open(request, reply, 'channel');
      channels.subscribe(name, stream, after);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.channelStop, {
      summary: 'Stop the channel: every iteration by every client ends; later appends get 409',
      config: { scope: 'admin', durable: true },
      errors: ['SLUICE_ERR_UNKNOWN_CHANNEL'],
    }),
    handler: async (request) => {
      channels.stop(request.params.name);
      return channels.info(request.params.name);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.channelDelete, { summary: 'Delete the channel; its futures are released', config: { scope: 'admin', durable: true }, errors: ['SLUICE_ERR_UNKNOWN_CHANNEL'] }),
    handler: async (request, reply) => {
      channels.delete(request.params.name);
      return reply.code(204).send(null);
    },
  });
};

export default channelsRoutes;
