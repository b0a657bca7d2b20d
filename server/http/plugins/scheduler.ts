import fp from 'fastify-plugin';
import { ClientSessions } from '../../services/client-sessions.ts';
import type { SchedulerConfig } from '../../config.ts';
import { errors } from '../../errors.ts';
import { ReplyDeliveries } from '../reply-delivery.ts';
import { Scheduler } from '../../services/scheduler.ts';
import { SessionCredentials } from '../session-credentials.ts';
import { StreamLimits } from '../sse/stream-limits.ts';
import { SessionStore } from '../../storage/sqlite/session-store.ts';
import { TaskStore } from '../../storage/sqlite/task-store.ts';
import { WaitingCalls } from '../../services/wait-line.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The settings as parsed (server/config.ts), for the routes that read one. */
    settings: Readonly<SchedulerConfig>;
    /** The task service. */
    scheduler: Scheduler;
    /** Client sessions: credentials, leases, the streams that hear of their futures. */
    clientSessions: ClientSessions;
    /** Opens SSE streams within the per-caller limits, over one budget of unsent bytes. */
    streams: StreamLimits;
    /** Replies that carry something taken for their caller (queue items, lease grants), until it is known whether they were written. */
    deliveries: ReplyDeliveries;
    /** Callers waiting at once, across every kind of wait (--max-waiting-calls). */
    waiting: WaitingCalls;
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

/**
 * The task service and what every request and service shares beside it —
 * client sessions, SSE stream limits, reply deliveries, the budget of
 * waiting calls — over the store, with their settings, in the app's
 * lifecycle. This is where they are wired to each other.
 */
export default fp<{ settings: SchedulerConfig }>(
  async (app, { settings }) => {
    const storage = app.store;
    const { lifecycle } = app;
    const tasks = new TaskStore(storage, { retentionMs: settings.retentionMs });
    const waiting = new WaitingCalls(settings.maxWaitingCalls);
    const streams = new StreamLimits({
      maxPerSession: settings.maxSsePerClient,
      maxPerToken: settings.maxSsePerToken,
      maxTotal: settings.maxSse,
      maxBufferedBytes: settings.sseMaxBufferedBytes,
      maxBufferedBytesTotal: settings.sseMaxBufferedBytesTotal,
    });
    const deliveries = new ReplyDeliveries();
    // The sessions and the task service call each other: a session that ends
    // releases its holds; a task that ends is announced to the sessions holding it.
    let scheduler: Scheduler | undefined;
    const clientSessions = lifecycle.add(
      new ClientSessions({
        credentials: new SessionCredentials(new SessionStore(storage.db, storage.tx), { maxPerIdentity: settings.maxSessionsPerToken }),
        leaseMs: settings.clientLeaseMs,
        release: (clientId) => scheduler?.releaseClient(clientId),
        knownIds: () => tasks.clientIds(),
        log: app.log,
      }),
    );
    // Started, drained, disconnected (worker sockets, which would otherwise
    // hold the close open for ever) and closed by the lifecycle.
    scheduler = lifecycle.add(new Scheduler({ storage, tasks, health: app.storage, lifecycle, waiting, sessions: clientSessions, log: app.log }, settings));
    // Closed before the task service, as its own close did: once every request
    // has ended, the replies still awaiting their verdict are settled (what a
    // written reply carried is committed by the storage, closed last).
    lifecycle.add({
      close: () => {
        streams.backlog.stop();
        deliveries.settleAll();
      },
    });
    app.decorate('settings', settings);
    app.decorate('scheduler', scheduler);
    app.decorate('clientSessions', clientSessions);
    app.decorate('streams', streams);
    app.decorate('deliveries', deliveries);
    app.decorate('waiting', waiting);
    app.addHook('onRequest', async (request) => {
      if (lifecycle.closing && request.url !== '/health') throw errors.shuttingDown();
      // While the store refuses writes, a write is refused before it changes anything.
      if (!app.storage.writable && !READS.has(request.method) && request.routeOptions.url !== undefined && request.routeOptions.config.writes !== false) {
        app.storage.assertWritable();
      }
    });
  },
  { name: 'sluice-scheduler', dependencies: ['sluice-store', 'sluice-lifecycle'] },
);
