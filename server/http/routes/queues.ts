import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MAX_WAIT_S } from '../../../schemas/coordination.ts';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { checkNesting } from '../plugins/json-body.ts';
import { presenceOf } from '../reply-delivery.ts';
import { callerOf } from './caller.ts';
import { routeOptions } from './route-options.ts';
import { sendJson } from './send-json.ts';

const DEFAULT_LEASE_TTL_MS = 30_000;

/** Queues: configure, put, get, look, delete. */
const queuesRoutes: FastifyPluginAsyncZod = async (app) => {
  const queues = app.queues;

  app.route({
    ...routeOptions(HTTP_API.queueList, { summary: 'Every queue, with its size' }),
    handler: async () => queues.list(),
  });

  app.route({
    ...routeOptions(HTTP_API.queueConfigure, {
      summary: 'Create a queue, or set its maxsize',
      config: { durable: true },
      description: 'Idempotent. Lowering maxsize below the size removes nothing: puts wait until the queue is below it.',
      errors: ['SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request) => queues.configure(request.params.name, request.body.maxsize),
  });

  app.route({
    ...routeOptions(HTTP_API.queueInfo, { summary: 'A queue’s size and maxsize', errors: ['SLUICE_ERR_UNKNOWN_QUEUE'] }),
    handler: async (request) => queues.info(request.params.name),
  });

  app.route({
    ...routeOptions(HTTP_API.queuePut, {
      summary: 'Put one item ({item}) or several ({items}) at the back of the queue',
      config: { durable: true },
      clientSession: 'optional',
      description:
        'Answers 201 once the items are committed. A {"$future": key} inside an item is held while the item is in the queue (404 if the key is unknown, and nothing is stored). On a full queue the put waits, first come first served, up to ?timeout= seconds for room for all its items, then 408 with nothing stored. The queue is created if it does not exist. Past --max-queues, --max-queue-items or --max-waiting-put-bytes: 503, nothing stored.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_TIMEOUT', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request, reply) => {
      const body = request.body;
      const values = 'items' in body ? body.items : [body.item];
      values.forEach((value, i) => checkNesting(request, 'items' in body ? `body.items[${i}]` : 'body.item', value));
      const answer = await queues.put(request.params.name, values, callerOf(request), {
        timeoutMs: (request.query.timeout ?? MAX_WAIT_S) * 1000,
        presence: presenceOf(reply),
        idempotencyKey: body.idempotencyKey,
      });
      reply.code(201);
      return answer;
    },
  });

  app.route({
    ...routeOptions(HTTP_API.queueGet, {
      summary: 'Take items from the front of the queue',
      config: { durable: true },
      clientSession: 'optional',
      description:
        'Waits, first come first served, up to ?timeout= seconds (default: until an item comes; 0: do not wait) for an item, then takes up to ?batch= items (default 1), as many as fit in --max-reply-bytes (at least one); 408 on timeout. Each item goes to exactly one getter. An item leaves the queue once this reply has been written: if the connection fails first, it goes back to the front. A caller with a client session holds the futures it receives; for an anonymous caller they are kept as fire-and-forget. With ?ack=true the items are leased instead (the reply carries the lease): they stay in the queue, out of line, until acknowledged with POST /queues/:name/ack, and go back to the front if released, if the lease is not renewed within ?ttlMs= (default 30000), or if the caller’s client session ends.',
      errors: ['SLUICE_ERR_TIMEOUT', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request, reply) => {
      const { ack, ttlMs = DEFAULT_LEASE_TTL_MS } = request.query;
      const delivery = await queues.get(
        request.params.name,
        request.query.batch ?? 1,
        callerOf(request),
        { timeoutMs: (request.query.timeout ?? MAX_WAIT_S) * 1000, presence: presenceOf(reply) },
        ack ? { ttlMs } : undefined,
      );
      // Watched from now on: the connection may fail while the commit is awaited (durable: true).
      app.deliveries.watch(reply, delivery);
      return sendJson(reply, delivery.json);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.queueDelete, {
      summary: 'Delete the queue and its items; their futures are let go',
      config: { scope: 'admin', durable: true },
      description: 'Callers waiting to get go on waiting: a later put creates the queue afresh.',
      errors: ['SLUICE_ERR_UNKNOWN_QUEUE'],
    }),
    handler: async (request, reply) => {
      queues.delete(request.params.name);
      return reply.code(204).send(null);
    },
  });
};

export default queuesRoutes;
