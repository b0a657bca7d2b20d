import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { presenceOf } from '../reply-delivery.ts';
import { routeOptions } from './route-options.ts';

/** Flags, Dask's Event: set, clear, wait. (/events is the dashboard's stream.) */
const flagsRoutes: FastifyPluginAsyncZod = async (app) => {
  const flags = app.flags;

  app.route({
    ...routeOptions(HTTP_API.flagIsSet, {
      summary: 'Whether the flag is set; with ?timeout=, wait until it is',
      // A set made this turn is answered once it is durable.
      config: { durable: true },
      description: 'A flag that was never set is clear. With ?timeout=, waits up to that many seconds for it to be set, then 408.',
      errors: ['SLUICE_ERR_TIMEOUT', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request, reply) => {
      const { name } = request.params;
      const { timeout } = request.query;
      if (timeout !== undefined) await flags.wait(name, { timeoutMs: timeout * 1000, what: `flag ${name} to be set`, presence: presenceOf(reply) });
      const set = timeout !== undefined || flags.isSet(name);
      return { name, set };
    },
  });

  app.route({
    ...routeOptions(HTTP_API.flagSet, { summary: 'Set the flag: every waiter wakes', config: { durable: true } }),
    handler: async (request) => {
      flags.set(request.params.name);
      return { name: request.params.name, set: true };
    },
  });

  app.route({
    ...routeOptions(HTTP_API.flagClear, { summary: 'Clear the flag: later waits wait', config: { durable: true } }),
    handler: async (request) => {
      flags.clear(request.params.name);
      return { name: request.params.name, set: false };
    },
  });
};

export default flagsRoutes;
