import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { FlagInfo, FlagParams, FlagQuery } from '../../schemas/flags.ts';
import { errorReplies } from '../docs/replies.ts';
import { presenceOf } from '../reply-delivery.ts';

/** Flags, Dask's Event: set, clear, wait. (/events is the dashboard's stream.) */
const flagsRoutes: FastifyPluginAsyncZod = async (app) => {
  const flags = app.flags;

  app.get(
    '/flags/:name',
    {
      schema: {
        summary: 'Whether the flag is set; with ?timeout=, wait until it is',
        operationId: 'flagIsSet',
        description: 'A flag that was never set is clear. With ?timeout=, waits up to that many seconds for it to be set, then 408.',
        params: FlagParams,
        querystring: FlagQuery,
        response: { 200: FlagInfo, ...errorReplies('SLUICE_ERR_TIMEOUT', 'SLUICE_ERR_OVERLOADED') },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const { timeout } = request.query;
      if (timeout !== undefined) await flags.wait(name, { timeoutMs: timeout * 1000, what: `flag ${name} to be set`, presence: presenceOf(reply) });
      const set = timeout !== undefined || flags.isSet(name);
      await app.store.committed(); // a set made this turn is answered once it is durable
      return { name, set };
    },
  );

  app.post(
    '/flags/:name/set',
    { schema: { summary: 'Set the flag: every waiter wakes', operationId: 'flagSet', params: FlagParams, response: { 200: FlagInfo } } },
    async (request) => {
      flags.set(request.params.name);
      await app.store.committed();
      return { name: request.params.name, set: true };
    },
  );

  app.post(
    '/flags/:name/clear',
    { schema: { summary: 'Clear the flag: later waits wait', operationId: 'flagClear', params: FlagParams, response: { 200: FlagInfo } } },
    async (request) => {
      flags.clear(request.params.name);
      await app.store.committed();
      return { name: request.params.name, set: false };
    },
  );
};

export default flagsRoutes;
