import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import fp from 'fastify-plugin';
import { errors } from '../../errors.ts';

export interface ProtectionOptions {
  /** Requests per minute per caller; 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Event-loop delay beyond which requests get 503; 0 turns it off. */
  maxEventLoopDelayMs: number;
  /** V8 heap in use (MB) beyond which requests get 503; 0 turns it off (the config's default is resolved already). */
  maxHeapUsedMb: number;
}

/**
 * What keeps a network service standing: a request rate per token
 * (@fastify/rate-limit, keyed by the caller auth identified), and 503 with
 * Retry-After rather than falling over when the event loop lags or the heap
 * is too full (@fastify/under-pressure). CORS is in the cross-origin plugin,
 * failed authentication is counted by the auth plugin, and slow requests are
 * cut off by the server's timeouts (app.ts).
 */
export default fp<ProtectionOptions>(
  async (app, options) => {
    if (options.rateLimitPerMinute > 0) {
      await app.register(rateLimit, {
        global: true,
        max: options.rateLimitPerMinute,
        timeWindow: 60_000,
        keyGenerator: (request) => request.principal || request.ip,
        allowList: (request) => request.routeOptions.url === '/health',
        errorResponseBuilder: (request, context) =>
          errors.rateLimited(context.max, context.after, context.ttl),
      });
    }
    if (options.maxEventLoopDelayMs > 0 || options.maxHeapUsedMb > 0) {
      app.log.info({ maxHeapUsedMb: options.maxHeapUsedMb, maxEventLoopDelayMs: options.maxEventLoopDelayMs }, 'requests get 503 while the heap in use or the event-loop delay is over these');
      await app.register(underPressure, {
        maxEventLoopDelay: options.maxEventLoopDelayMs,
        maxHeapUsedBytes: options.maxHeapUsedMb * 1024 * 1024,
        retryAfter: 1,
        // A rejection goes to the error handler and ends the request there;
        // sending here instead would let the request go on to its handler.
        // /health answers regardless: an overloaded scheduler is alive.
        pressureHandler: async (request, reply, type, value) => {
          if (request.routeOptions.url === '/health') return;
          void reply.header('retry-after', '1');
          const why =
            type === 'heapUsedBytes'
              ? `its V8 heap holds ${Math.round(Number(value) / 1024 / 1024)} MB, over --max-heap-used-mb (${options.maxHeapUsedMb})`
              : type === 'eventLoopDelay'
                ? `its event loop lags ${Math.round(Number(value))} ms, over SLUICE_MAX_EVENT_LOOP_DELAY_MS (${options.maxEventLoopDelayMs})`
                : `${type}: ${Math.round(Number(value))}`;
          throw errors.underPressure(why, type);
        },
      });
    }
  },
  { name: 'sluice-protection', dependencies: ['sluice-auth'] },
);
