import fp from 'fastify-plugin';
import { Firehose } from '../firehose.ts';
import { Metrics } from '../metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    firehose: Firehose;
    metrics: Metrics;
  }
}

/** The /events firehose and the Prometheus metrics, fed by the scheduler's and the channels' events. */
export default fp(
  async (app) => {
    const firehose = new Firehose(app.scheduler, app.channels, { maxBufferedBytes: app.scheduler.options.sseMaxBufferedBytes });
    firehose.start();
    const metrics = new Metrics(app.scheduler, app.channels, firehose);
    app.decorate('firehose', firehose);
    app.decorate('metrics', metrics);
    app.addHook('onResponse', async (request, reply) => {
      if (String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream')) return;
      metrics.observeHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    });
    app.addHook('preClose', async () => firehose.stop());
    app.addHook('onClose', async () => metrics.stop());
  },
  { name: 'sluice-observability', dependencies: ['sluice-scheduler', 'sluice-channels'] },
);
