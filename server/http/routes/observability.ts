import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { FirehoseFrames } from '../../../schemas/firehose.ts';
import { HTTP_API } from '../../../schemas/http-api.ts';
import { dashboardAssets } from '../../observability/dashboard-bundle.ts';
import { routeOptions } from './route-options.ts';

/** The firehose, the metrics and the dashboard. */
const observabilityRoutes: FastifyPluginAsyncZod = async (app) => {
  app.route({
    ...routeOptions(HTTP_API.firehose, {
      summary: 'SSE firehose for dashboards: tasks, workers, channels, queues, locks, semaphores, variables, flags, topics',
      clientSession: 'optional',
      description: [
        'Events, each with an id `<run>-<n>` to resume with (Last-Event-ID, or ?lastEventId=):',
        '`snapshot` {epoch, restarted, version, startedAt, counts, totals, progress, workers, channels, queues, leases (those held or waited on, and up to 200 others), leaseCount, topics, variables: {count}, flags: {count, set}, recentTasks, recentErrors, history} first, and again whenever resuming is not possible (restarted: true when the scheduler restarted since the given id);',
        '`tasks` {at, counts, totals, progress, ended: [{key, fn, worker, status, startedAt, finishedAt}], endedDropped, errors: [... with error {name, message, traceback}], workers: [{id, processing, lastHeartbeatAt}]} every 250 ms while tasks move (at most 500 ended tasks listed per frame; totals are exact);',
        '`progress` is tasks by function, as GET /tasks/progress answers it: {functions: [{fn, waiting, queued, processing, finished, error, cancelled, lost}], other} for the 20 busiest functions, the rest summed up in `other` (null when there is none);',
        '`worker` {type: joined | left, worker} as they happen, {type: stats, workers: [{id, lastHeartbeatAt, rssBytes?, eventLoopUtilization?, memoryLimitBytes?}]} once a tick for the workers whose heartbeats brought figures; `channel` {type: configured | appended | stopped | deleted, channel, count?};',
        'and, on the same 250 ms tick, one frame per kind of coordination primitive that changed, each name once with its state then (never items, values or messages):',
        '`queues` {at, changed: [{name, size, maxsize, getters, putters, leased, puts, gets}], deleted: [name], more} (puts and gets: items since the previous frame);',
        '`leases` {at, changed: [{kind: lock | semaphore, name, maxLeases, held, waiting, lastToken, holders, acquired, released, expired}], more};',
        '`variables` {at, count, set: [name], deleted: [name]}; `flags` {at, count, set: [name], cleared: [name]};',
        '`topics` {at, changed: [{name, subscribers, lastSeq, published}], forgotten: [name]}. Lists hold 1000 names at most; `more` counts the rest.',
        'Every frame has a zod schema in schemas/firehose.ts (FirehoseFrames).',
      ].join(' '),
      stream: {
        description: '`snapshot` first (and whenever resuming is not possible), then the other frames as things change. Every event has an id to resume with.',
        events: Object.fromEntries(Object.keys(FirehoseFrames).map((name) => [name, { id: '`<run>-<n>`: send it back as Last-Event-ID (or ?lastEventId=) to resume after it.' }])),
      },
    }),
    handler: async (request, reply) => {
      const header = request.headers['last-event-id'];
      const lastEventId = (typeof header === 'string' && header) || request.query.lastEventId || null;
      const stream = app.streams.open(request, reply, 'events');
      app.firehose.subscribe(stream, lastEventId);
      app.lifecycle.onDrain(() => stream.close());
    },
  });

  app.route({
    ...routeOptions(HTTP_API.metrics, {
      summary: 'Prometheus metrics: tasks, workers, channels, queues, locks and semaphores, variables, flags, topics, SSE, HTTP, process',
      produces: ['text/plain; version=0.0.4; charset=utf-8'],
    }),
    handler: async (request, reply) => {
      const text = await app.metrics.registry.metrics();
      return reply.type(app.metrics.registry.contentType).send(text);
    },
  });

  app.route({
    ...routeOptions(HTTP_API.dashboard, { summary: 'The dashboard page', config: { scope: 'public' }, produces: ['text/html; charset=utf-8'] }),
    handler: async (request, reply) => reply.type('text/html; charset=utf-8').send((await dashboardAssets()).html),
  });
  app.get('/dashboard/app.js', { config: { scope: 'public' }, schema: { hide: true } }, async (request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send((await dashboardAssets()).js),
  );
  app.get('/dashboard/app.css', { config: { scope: 'public' }, schema: { hide: true } }, async (request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send((await dashboardAssets()).css),
  );
};

export default observabilityRoutes;
