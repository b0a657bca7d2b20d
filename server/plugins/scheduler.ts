import fp from 'fastify-plugin';
import { errors } from '../errors.ts';
import { Scheduler, type SchedulerOptions } from '../scheduler.ts';
import { SessionStore } from '../storage/sqlite/session-store.ts';
import { TaskStore } from '../storage/sqlite/task-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    scheduler: Scheduler;
  }
  interface FastifyContextConfig {
    /**
     * false for a POST, PUT or DELETE that writes nothing to the store
     * (gather, publish, renew...): it is served while writes are refused.
     */
    writes?: boolean;
  }
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The scheduler service over the store, with the settings it reads, in the app's lifecycle. */
export default fp<{ settings: SchedulerOptions }>(
  async (app, { settings }) => {
    const storage = app.store;
    const stores = { storage, tasks: new TaskStore(storage, { retentionMs: settings.retentionMs }), sessions: new SessionStore(storage.db, storage.tx), health: app.storage };
    // Started, drained, disconnected (SSE streams and worker sockets, which
    // would otherwise hold the close open for ever) and closed by the lifecycle.
    const scheduler = app.lifecycle.add(new Scheduler(stores, app.lifecycle, settings, app.log));
    app.decorate('scheduler', scheduler);
    app.addHook('onRequest', async (request) => {
      if (scheduler.closing && request.url !== '/health') throw errors.shuttingDown();
      // While the store refuses writes, a write is refused before it changes anything.
      if (!app.storage.writable && !READS.has(request.method) && request.routeOptions.url !== undefined && request.routeOptions.config.writes !== false) {
        app.storage.assertWritable();
      }
    });
  },
  { name: 'sluice-scheduler', dependencies: ['sluice-store', 'sluice-lifecycle'] },
);
