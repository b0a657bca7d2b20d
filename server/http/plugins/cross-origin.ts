import cors from '@fastify/cors';
import fp from 'fastify-plugin';

export interface CrossOriginOptions {
  /** Browser origins allowed to call (CORS); none: no CORS headers at all. */
  corsOrigins: readonly string[];
}

/**
 * What pages of other origins may make a browser do. CORS answers for the
 * allowed origins only (@fastify/cors). Registered before authentication,
 * so that every answer, a 401 included, carries `Vary: Origin` and, for an
 * allowed origin, the headers that let its page read the error.
 *
 * Bodies are JSON only: without the text/plain parser Fastify has by
 * default, the three content types a page may send to another origin without
 * asking first (text/plain, form-urlencoded, multipart) are refused (400
 * naming application/json), so a cross-origin page cannot send a body a
 * route takes. The cookie's own origin check is in the auth plugin.
 */
export default fp<CrossOriginOptions>(
  async (app, options) => {
    app.removeContentTypeParser('text/plain');
    if (options.corsOrigins.length > 0) {
      await app.register(cors, {
        origin: [...options.corsOrigins],
        credentials: true,
        methods: ['GET', 'POST', 'PUT', 'DELETE'],
        allowedHeaders: ['content-type', 'authorization', 'sluice-client', 'last-event-id'],
        exposedHeaders: ['retry-after'],
        maxAge: 600,
      });
    }
  },
  { name: 'sluice-cross-origin' },
);
