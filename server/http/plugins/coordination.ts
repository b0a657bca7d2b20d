import fp from 'fastify-plugin';
import { Flags } from '../../services/flags.ts';
import { FutureRefs } from '../../services/future-refs.ts';
import { Leases } from '../../services/leases.ts';
import { QueueLeases } from '../../services/queue-leases.ts';
import { type QueueLimits, Queues } from '../../services/queues.ts';
import { FlagStore } from '../../storage/sqlite/flag-store.ts';
import { LeaseStore } from '../../storage/sqlite/lease-store.ts';
import { QueueLeaseStore } from '../../storage/sqlite/queue-lease-store.ts';
import { QueueStore } from '../../storage/sqlite/queue-store.ts';
import { VariableStore } from '../../storage/sqlite/variable-store.ts';
import { type TopicLimits, Topics } from '../../services/topics.ts';
import { Variables } from '../../services/variables.ts';

declare module 'fastify' {
  interface FastifyInstance {
    queues: Queues;
    queueLeases: QueueLeases;
    variables: Variables;
    topics: Topics;
    flags: Flags;
    leases: Leases;
  }
}

export interface CoordinationOptions {
  topics: TopicLimits;
  queues: QueueLimits;
  /** Leases held at once on all locks and semaphores. */
  maxLeases: number;
}

/**
 * The coordination primitives (Dask's Queue, Variable, Pub/Sub, Event, Lock
 * and Semaphore) over the scheduler, writing through the same group commit
 * as tasks and channels.
 */
export default fp<CoordinationOptions>(
  async (app, options) => {
    const { db, tx } = app.store;
    const refs = new FutureRefs(app.scheduler.holds);
    const leases = new Leases(app.lifecycle, app.scheduler.events, app.waiting, new LeaseStore(db, tx), app.log, { maxLeases: options.maxLeases });
    const queues = new Queues(app.lifecycle, app.waiting, new QueueStore(db, tx), refs, app.log, options.queues);
    const variables = new Variables(app.lifecycle, app.waiting, app.store, new VariableStore(db, tx), refs, leases);
    const flags = new Flags(app.lifecycle, app.waiting, app.store, new FlagStore(db, tx));
    const topics = new Topics(app.lifecycle, options.topics);
    const queueLeases = new QueueLeases(app.lifecycle, app.scheduler.events, queues, new QueueLeaseStore(db, tx), app.log);
    for (const service of [leases, queues, queueLeases, variables, flags, topics]) app.lifecycle.add(service);
    app.decorate('queues', queues);
    app.decorate('queueLeases', queueLeases);
    app.decorate('variables', variables);
    app.decorate('topics', topics);
    app.decorate('flags', flags);
    app.decorate('leases', leases);
  },
  { name: 'sluice-coordination', dependencies: ['sluice-scheduler'] },
);
