import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { checkNesting } from '../plugins/json-body.ts';
import { presenceOf } from '../reply-delivery.ts';
import { callerOf } from './caller.ts';
import { routeOptions } from './route-options.ts';
import { sendJson } from './send-json.ts';

/** Variables: set, get (waiting until set), delete. */
const variablesRoutes: FastifyPluginAsyncZod = async (app) => {
  const variables = app.variables;

  app.route({
    ...routeOptions(HTTP_API.variableSet, {
      summary: 'Set the variable',
      config: { durable: true },
      description:
        'Answers once the value is committed. A {"$future": key} inside the value is held while it is the value (404 if the key is unknown; nothing changes). With fence {lock|semaphore, token} the write happens only while that lease is held: 409 SLUICE_ERR_STALE_TOKEN otherwise.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_STALE_TOKEN'],
    }),
    handler: async (request, reply) => {
      checkNesting(request, 'body.value', request.body.value);
      return sendJson(reply, variables.set(request.params.name, request.body.value, request.body.fence));
    },
  });

  app.route({
    ...routeOptions(HTTP_API.variableGet, {
      summary: 'The variable’s value',
      // A caller with a client session holds the value's futures: that hold is committed before the answer.
      config: { durable: true },
      clientSession: 'optional',
      description:
        'Without ?timeout=, answers 404 SLUICE_ERR_VARIABLE_UNSET if the variable is not set; with it, waits up to that many seconds for it to be set, then 408. A caller with a client session holds the futures in the value.',
      errors: ['SLUICE_ERR_VARIABLE_UNSET', 'SLUICE_ERR_TIMEOUT', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request, reply) => {
      const { timeout } = request.query;
      const json = await variables.get(request.params.name, callerOf(request), timeout === undefined ? undefined : timeout * 1000, presenceOf(reply));
      return sendJson(reply, json);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.variableDelete, {
      summary: 'Unset the variable; its futures are let go',
      config: { durable: true },
      description: 'Idempotent: deleting a variable that is not set answers 204 too.',
    }),
    handler: async (request, reply) => {
      variables.delete(request.params.name);
      return reply.code(204).send(null);
    },
  });
};

export default variablesRoutes;
