import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { errors } from '../../errors.ts';
import { outcomeJson } from '../../services/outcomes.ts';
import type { EndedEvent } from '../../services/task-events.ts';
import { type SseStream, statusFrame } from '../sse/sse-stream.ts';
import { presenceOf } from '../reply-delivery.ts';
import { futureInfoJson } from './future-info.ts';
import { sendJson } from './send-json.ts';
import { callerOf, clientOf } from './caller.ts';
import { routeOptions } from './route-options.ts';

const FOREVER_S = 24 * 3600;

/** Futures: status, results, cancel, holds, and an SSE stream of status changes. */
const futuresRoutes: FastifyPluginAsyncZod = async (app) => {
  const scheduler = app.scheduler;
  const inline = scheduler.options.inlineResultBytes;

  app.route({
    ...routeOptions(HTTP_API.futureInfo, {
      summary: 'A future: status, result or error, and why it is not running yet if it is pending',
      errors: ['SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN'],
    }),
    handler: async (request, reply) => sendJson(reply, futureInfoJson(scheduler.core, scheduler.tasks, request.params.key)),
  });

  app.route({
    ...routeOptions(HTTP_API.futureResult, {
      summary: 'Wait for a task to end and answer its result, or its error',
      description: 'Waits up to ?timeout seconds (default: until it ends; 0: do not wait). A task that erred, was cancelled or lost answers 200 with that status and its error; a timeout answers 408.',
      errors: ['SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_TIMEOUT'],
    }),
    handler: async (request, reply) => {
      const seconds = request.query.timeout ?? FOREVER_S;
      const outcome = await scheduler.waitForOutcome(request.params.key, seconds * 1000, presenceOf(reply));
      return sendJson(reply, outcomeJson(outcome));
    },
  });

  app.route({
    ...routeOptions(HTTP_API.cancel, {
      summary: 'Cancel a pending task and the tasks that depend on it',
      config: { durable: true },
      clientSession: 'optional',
      description: 'A client token cancels only tasks its session holds (its credential in the sluice-client header); an admin token cancels any.',
      errors: ['SLUICE_ERR_FORBIDDEN', 'SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN'],
    }),
    handler: async (request) => {
      const { clientId } = callerOf(request);
      if (request.scope !== 'admin' && !scheduler.isHeldBy(request.params.key, clientId)) {
        throw errors.cancelForbidden(request.params.key);
      }
      const status = scheduler.cancel(request.params.key);
      return { key: request.params.key, status };
    },
  });

  app.route({
    ...routeOptions(HTTP_API.futureRelease, {
      summary: "Release the calling client's hold on a key",
      config: { durable: true },
      clientSession: 'optional',
      description: 'With a session credential in the sluice-client header (POST /clients), that session lets go of the key. An anonymous caller holds nothing, so this changes nothing for it (use cancel to stop a task).',
      errors: ['SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN'],
    }),
    handler: async (request, reply) => {
      const { clientId } = callerOf(request);
      scheduler.assertKnown(request.params.key);
      if (clientId) scheduler.release([request.params.key], clientId);
      return reply.code(204).send(null);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.hold, {
      summary: 'The calling client holds these keys (a Future for a known key); answers their outcomes so far',
      config: { durable: true },
      clientSession: 'required',
      errors: ['SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_TOO_LARGE'],
    }),
    handler: async (request, reply) => {
      const outcomes = scheduler.hold(request.body.keys, clientOf(request));
      // Results ride along up to the reply's limit; past it they are left out (resultOmitted), to be read one by one.
      let room = app.settings.maxReplyBytes;
      const parts = outcomes.map((o) => {
        const json = outcomeJson(o, Math.min(inline, room));
        room = Math.max(0, room - json.length);
        return json;
      });
      return sendJson(reply, `{"futures":[${parts.join(',')}]}`);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.outcomes, {
      summary: 'The outcomes of these keys now, without waiting and without holding them',
      config: { durable: false, notDurableBecause: 'reads only: a POST for the length of its list of keys' },
      description:
        'A batch of GET /futures/:key for views such as the dashboard: each key’s status, with its result up to `resultChars` characters (longer ones are left out and flagged `resultOmitted`) or its error. Unknown or forgotten keys are listed in `missing`. A reply over --max-reply-bytes answers 413: ask for fewer keys, or smaller results.',
      errors: ['SLUICE_ERR_TOO_LARGE'],
    }),
    handler: async (request, reply) => {
      const keys = [...new Set(request.body.keys)];
      const { maxBatch, maxReplyBytes } = app.settings;
      if (keys.length > maxBatch) throw errors.tooLarge(`a request with ${keys.length} keys`, maxBatch);
      const resultChars = request.body.resultChars ?? inline;
      const parts: string[] = [];
      const missing: string[] = [];
      let bytes = 0;
      for (const key of keys) {
        const outcome = scheduler.peekOutcome(key);
        if (!outcome) {
          missing.push(key);
          continue;
        }
        const json = outcomeJson(outcome, resultChars);
        bytes += json.length + 1;
        if (bytes > maxReplyBytes) {
          throw errors.outcomesTooLarge(keys.length, maxReplyBytes);
        }
        parts.push(json);
      }
      return sendJson(reply, `{"futures":[${parts.join(',')}],"missing":${JSON.stringify(missing)}}`);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.release, {
      summary: 'The calling client lets go of these keys',
      config: { durable: true },
      clientSession: 'required',
      errors: ['SLUICE_ERR_TOO_LARGE'],
    }),
    handler: async (request, reply) => {
      scheduler.release(request.body.keys, clientOf(request));
      return reply.code(204).send(null);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.fireAndForget, {
      summary: 'Keep these tasks running, and their results for the retention period, even when no client holds them',
      config: { durable: true },
      errors: ['SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN', 'SLUICE_ERR_TOO_LARGE'],
    }),
    handler: async (request, reply) => {
      if (request.body.keys.length > scheduler.options.maxBatch) throw errors.tooLarge(`a request with ${request.body.keys.length} keys`, scheduler.options.maxBatch);
      scheduler.fireAndForget(request.body.keys);
      return reply.code(204).send(null);
    },
  });

  // Readers of /futures/events, by key.
  const watchers = new Map<string, Set<SseStream>>();
  const onEnded = (event: EndedEvent): void => {
    const set = watchers.get(event.key);
    if (!set) return;
    const frame = statusFrame(event.outcome, inline);
    for (const stream of set) stream.write(frame);
  };
  scheduler.events.on('task:ended', onEnded);
  app.lifecycle.add({ close: () => void scheduler.events.off('task:ended', onEnded) });

  app.route({
    ...routeOptions(HTTP_API.futureEvents, {
      summary: 'SSE: the status of these keys now, then each change (event: status)',
      clientSession: 'optional',
      errors: ['SLUICE_ERR_UNKNOWN_KEY', 'SLUICE_ERR_FORGOTTEN'],
      stream: { description: 'Each key’s outcome so far, in the order asked (a pending key has only its status), then each outcome as its task ends.' },
    }),
    handler: async (request, reply) => {
      const keys = [...new Set(request.query.keys)];
      const outcomes = keys.map((key) => scheduler.outcome(key)); // 404 before the stream opens
      const stream = app.streams.open(request, reply, 'futures');
      for (const key of keys) {
        let set = watchers.get(key);
        if (!set) watchers.set(key, (set = new Set()));
        set.add(stream);
      }
      stream.onClose(() => {
        for (const key of keys) {
          const set = watchers.get(key);
          set?.delete(stream);
          if (set?.size === 0) watchers.delete(key);
        }
      });
      for (const [i, key] of keys.entries()) {
        const outcome = outcomes[i];
        stream.write(statusFrame(outcome ?? { key, status: 'pending' }, inline));
      }
      const unsubscribe = app.lifecycle.onDrain(() => stream.close());
      stream.onClose(unsubscribe);
    },
  });
};

export default futuresRoutes;
