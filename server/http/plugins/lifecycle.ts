import fp from 'fastify-plugin';
import { Lifecycle } from '../../lifecycle.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Starts and stops every service, in order: the one shutdown mechanism. */
    lifecycle: Lifecycle;
  }
}

/**
 * The app's lifecycle, over the storage (added first, so closed last).
 * Closing the app disconnects (drain first if the process did not: new
 * requests get 503, waits and streams end, worker sockets close) before
 * Fastify waits for the requests in flight, and closes every service once
 * they have ended.
 */
export default fp(
  async (app) => {
    const lifecycle = new Lifecycle(app.store);
    lifecycle.add(app.store);
    app.decorate('lifecycle', lifecycle);
    app.addHook('preClose', async () => lifecycle.disconnect());
    app.addHook('onClose', async () => lifecycle.close());
  },
  { name: 'sluice-lifecycle', dependencies: ['sluice-store'] },
);
