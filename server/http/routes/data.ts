import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { errors } from '../../errors.ts';
import type { OutcomeRecord } from '../../services/outcomes.ts';
import { checkNesting } from '../plugins/json-body.ts';
import { presenceOf } from '../reply-delivery.ts';
import { sendJson } from './send-json.ts';
import { callerOf } from './caller.ts';
import { routeOptions } from './route-options.ts';

/** Moving values in and out: gather results, scatter values. */
const dataRoutes: FastifyPluginAsyncZod = async (app) => {
  const scheduler = app.scheduler;

  app.route({
    ...routeOptions(HTTP_API.gather, {
      summary: 'Results of several keys, in the order given',
      config: { writes: false, durable: false, notDurableBecause: 'writes nothing: it waits for results and reads them' },
      description:
        'Waits up to `timeout` seconds (default: until all end). With errors "raise" (default) a key that did not finish answers 422 naming it; with "skip" such keys are left out and listed in `skipped`. Results over --max-reply-bytes together answer 413: gather fewer at a time.',
      errors: ['SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_TIMEOUT', 'SLUICE_ERR_TOO_LARGE', 'SLUICE_ERR_TASK_FAILED', 'SLUICE_ERR_OVERLOADED'],
    }),
    handler: async (request, reply) => {
      const { keys, timeout, errors: onError } = request.body;
      if (keys.length > scheduler.options.maxBatch) {
        throw errors.gatherTooLarge(keys.length, scheduler.options.maxBatch);
      }
      const ms = (timeout ?? 24 * 3600) * 1000;
      await scheduler.waitUntilEnded(keys, ms, presenceOf(reply)); // 404 for an unknown key before waiting
      // Read one key at a time, each once (a key may be asked for many times), and stop at the reply's limit.
      const limit = app.settings.maxReplyBytes;
      const read = new Map<string, OutcomeRecord>();
      const results: string[] = [];
      const skipped: string[] = [];
      let bytes = 0;
      for (const key of keys) {
        let outcome = read.get(key);
        if (!outcome) {
          outcome = scheduler.outcome(key) ?? { key, status: 'pending' };
          read.set(key, outcome);
        }
        if (outcome.status === 'finished') {
          const result = outcome.result ?? 'null';
          bytes += result.length + 1;
          if (bytes > limit) {
            throw errors.resultsTooLarge(keys.length, limit);
          }
          results.push(result);
          continue;
        }
        if (onError === 'raise') {
          throw errors.taskFailed(outcome);
        }
        skipped.push(outcome.key);
      }
      const tail = onError === 'skip' ? `,"skipped":${JSON.stringify(skipped)}` : '';
      return sendJson(reply, `{"results":[${results.join(',')}]${tail}}`);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.scatter, {
      summary: 'Store values as finished futures',
      config: { durable: true },
      clientSession: 'optional',
      description: '{ data: [...] } stores each element under its own key; { data, key? } stores one value. Keys default to data-<hash of the value>.',
      errors: ['SLUICE_ERR_VALIDATION', 'SLUICE_ERR_KEY_CONFLICT', 'SLUICE_ERR_TOO_LARGE'],
    }),
    handler: async (request, reply) => {
      const body = request.body as { data: unknown; key?: string; keys?: string[] };
      const caller = callerOf(request);
      const many = Array.isArray(body.data) && body.key === undefined;
      if (many) (body.data as unknown[]).forEach((value, i) => checkNesting(request, `body.data[${i}]`, value));
      else checkNesting(request, 'body.data', body.data);
      const keys = many
        ? scheduler.scatter(body.data as unknown[], body.keys, caller)
        : scheduler.scatter([body.data], body.key === undefined ? undefined : [body.key], caller);
      reply.code(201);
      return { keys };
    },
  });
};

export default dataRoutes;
