import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_WAIT_S } from '../../schemas/coordination.ts';
import { GetQuery, GetReply, PutBody, PutQuery, PutReply, QueueConfig, QueueInfo, QueueParams } from '../../schemas/queues.ts';
import { checkNesting } from '../plugins/json-body.ts';
import { presenceOf } from '../reply-delivery.ts';
import { callerOf } from './caller.ts';
import { sendJson } from './send-json.ts';
import { errorReplies } from '../docs/replies.ts';

const NoContent = z.null().describe('Deleted.');
const DEFAULT_LEASE_TTL_MS = 30_000;

/** Queues: configure, put, get, look, delete. */
const queuesRoutes: FastifyPluginAsyncZod = async (app) => {
  const queues = app.queues;

  app.get('/queues', { schema: { summary: 'Every queue, with its size', operationId: 'queueList', response: { 200: z.array(QueueInfo).describe('Every queue.') } } }, async () => queues.list());

  app.put(
    '/queues/:name',
    {
      schema: {
        summary: 'Create a queue, or set its maxsize',
        operationId: 'queueConfigure',
        description: 'Idempotent. Lowering maxsize below the size removes nothing: puts wait until the queue is below it.',
        params: QueueParams,
        body: QueueConfig,
        response: { 200: QueueInfo, ...errorReplies('SLUICE_ERR_OVERLOADED') },
      },
    },
    async (request) => {
      const answer = queues.configure(request.params.name, request.body.maxsize);
      await app.store.committed();
      return answer;
    },
  );

  app.get(
    '/queues/:name',
    { schema: { summary: 'A queue’s size and maxsize', operationId: 'queueInfo', params: QueueParams, response: { 200: QueueInfo, ...errorReplies('SLUICE_ERR_UNKNOWN_QUEUE') } } },
    async (request) => queues.info(request.params.name),
  );

  app.post(
    '/queues/:name/put',
    {
      schema: {
        summary: 'Put one item ({item}) or several ({items}) at the back of the queue',
        operationId: 'queuePut',
        clientSession: 'optional',
        description:
          'Answers 201 once the items are committed. A {"$future": key} inside an item is held while the item is in the queue (404 if the key is unknown, and nothing is stored). On a full queue the put waits, first come first served, up to ?timeout= seconds for room for all its items, then 408 with nothing stored. The queue is created if it does not exist. Past --max-queues, --max-queue-items or --max-waiting-put-bytes: 503, nothing stored.',
        params: QueueParams,
        querystring: PutQuery,
        body: PutBody,
        response: { 201: PutReply, ...errorReplies('SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_TIMEOUT', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED') },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const values = 'items' in body ? body.items : [body.item];
      values.forEach((value, i) => checkNesting(request, 'items' in body ? `body.items[${i}]` : 'body.item', value));
      const answer = await queues.put(request.params.name, values, callerOf(request), {
        timeoutMs: (request.query.timeout ?? MAX_WAIT_S) * 1000,
        presence: presenceOf(reply),
        idempotencyKey: body.idempotencyKey,
      });
      await app.store.committed();
      reply.code(201);
      return answer;
    },
  );

  app.post(
    '/queues/:name/get',
    {
      schema: {
        summary: 'Take items from the front of the queue',
        operationId: 'queueGet',
        clientSession: 'optional',
        description:
          'Waits, first come first served, up to ?timeout= seconds (default: until an item comes; 0: do not wait) for an item, then takes up to ?batch= items (default 1), as many as fit in --max-reply-bytes (at least one); 408 on timeout. Each item goes to exactly one getter. An item leaves the queue once this reply has been written: if the connection fails first, it goes back to the front. A caller with a client session holds the futures it receives; for an anonymous caller they are kept as fire-and-forget. With ?ack=true the items are leased instead (the reply carries the lease): they stay in the queue, out of line, until acknowledged with POST /queues/:name/ack, and go back to the front if released, if the lease is not renewed within ?ttlMs= (default 30000), or if the caller’s client session ends.',
        params: QueueParams,
        querystring: GetQuery,
        response: { 200: GetReply, ...errorReplies('SLUICE_ERR_TIMEOUT', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_OVERLOADED') },
      },
    },
    async (request, reply) => {
      const { ack, ttlMs = DEFAULT_LEASE_TTL_MS } = request.query;
      const delivery = await queues.get(
        request.params.name,
        request.query.batch ?? 1,
        callerOf(request),
        { timeoutMs: (request.query.timeout ?? MAX_WAIT_S) * 1000, presence: presenceOf(reply) },
        ack ? { ttlMs } : undefined,
      );
      // Watch from now on: the connection may fail while the commit is awaited.
      app.scheduler.deliveries.watch(reply, delivery);
      await app.store.committed();
      return sendJson(reply, delivery.json);
    },
  );

  app.delete(
    '/queues/:name',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Delete the queue and its items; their futures are let go',
        operationId: 'queueDelete',
        description: 'Callers waiting to get go on waiting: a later put creates the queue afresh.',
        params: QueueParams,
        response: { 204: NoContent, ...errorReplies('SLUICE_ERR_UNKNOWN_QUEUE') },
      },
    },
    async (request, reply) => {
      queues.delete(request.params.name);
      await app.store.committed();
      return reply.code(204).send(null);
    },
  );
};

export default queuesRoutes;
