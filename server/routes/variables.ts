import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../../schemas/errors.ts';
import { VariableBody, VariableInfo, VariableParams, VariableQuery } from '../../schemas/variables.ts';
import { checkNesting } from '../plugins/json-body.ts';
import { presenceOf } from '../reply-delivery.ts';
import { callerOf } from './caller.ts';
import { sendJson } from './send-json.ts';

const NoContent = z.null().describe('No content');

/** Variables: set, get (waiting until set), delete. */
const variablesRoutes: FastifyPluginAsyncZod = async (app) => {
  const variables = app.variables;

  app.put(
    '/variables/:name',
    {
      schema: {
        summary: 'Set the variable',
        description:
          'Answers once the value is committed. A {"$future": key} inside the value is held while it is the value (404 if the key is unknown; nothing changes). With fence {lock|semaphore, token} the write happens only while that lease is held: 409 SLUICE_ERR_STALE_TOKEN otherwise.',
        params: VariableParams,
        body: VariableBody,
        response: { 200: VariableInfo, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
      },
    },
    async (request, reply) => {
      checkNesting(request, 'body.value', request.body.value);
      const json = variables.set(request.params.name, request.body.value, request.body.fence);
      await app.store.committed();
      return sendJson(reply, json);
    },
  );

  app.get(
    '/variables/:name',
    {
      schema: {
        summary: 'The variable’s value',
        description:
          'Without ?timeout=, answers 404 SLUICE_ERR_VARIABLE_UNSET if the variable is not set; with it, waits up to that many seconds for it to be set, then 408. A caller with a client session holds the futures in the value.',
        params: VariableParams,
        querystring: VariableQuery,
        response: { 200: VariableInfo, 404: ErrorBody, 408: ErrorBody },
      },
    },
    async (request, reply) => {
      const { timeout } = request.query;
      const json = await variables.get(request.params.name, callerOf(request), timeout === undefined ? undefined : timeout * 1000, presenceOf(reply));
      await app.store.committed();
      return sendJson(reply, json);
    },
  );

  app.delete(
    '/variables/:name',
    {
      schema: {
        summary: 'Unset the variable; its futures are let go',
        description: 'Idempotent: deleting a variable that is not set answers 204 too.',
        params: VariableParams,
        response: { 204: NoContent },
      },
    },
    async (request, reply) => {
      variables.delete(request.params.name);
      await app.store.committed();
      return reply.code(204).send(null);
    },
  );
};

export default variablesRoutes;
