import fp from 'fastify-plugin';
import { CoordinationActivity } from '../../observability/coordination-activity.ts';
import { Firehose } from '../../observability/firehose.ts';
import { Metrics } from '../../observability/metrics.ts';
import { registerCoordinationMetrics } from '../../observability/metrics-coordination.ts';

declare module 'fastify' {
  interface FastifyInstance {
    firehose: Firehose;
    metrics: Metrics;
  }
}

/** The /events firehose and the Prometheus metrics, fed by the events of the scheduler, the channels and the coordination primitives. */
export default fp<{ firehoseReplayBytes: number }>(
  async (app, options) => {
    const services = { queues: app.queues, variables: app.variables, flags: app.flags, leases: app.leases, topics: app.topics };
    const coordination = new CoordinationActivity(services);
    const firehose = new Firehose(app.scheduler.cluster, app.scheduler.events, app.channels, coordination, { maxBufferedBytes: app.settings.sseMaxBufferedBytes, replayBytes: options.firehoseReplayBytes });
    const metrics = new Metrics({
      cluster: app.scheduler.cluster,
      tasks: app.scheduler.events,
      channels: app.channels,
      firehose,
      sseBufferedBytes: () => app.streams.backlog.measure(),
      clientSessions: () => app.clientSessions.size,
    });
    registerCoordinationMetrics(metrics.registry, services, coordination.totals);
    app.decorate('firehose', firehose);
    app.decorate('metrics', metrics);
    app.addHook('onResponse', async (request, reply) => {
      if (String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream')) return;
      metrics.observeHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    });
    app.lifecycle.add({ start: () => coordination.start(), close: () => coordination.stop() });
    app.lifecycle.add({ start: () => firehose.start(), drain: () => firehose.stop() });
    app.lifecycle.add({ close: () => metrics.stop() });
  },
  { name: 'sluice-observability', dependencies: ['sluice-scheduler', 'sluice-channels', 'sluice-coordination'] },
);
