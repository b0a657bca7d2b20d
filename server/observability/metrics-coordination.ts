import { Counter, Gauge, type Registry } from 'prom-client';
import type { CoordinationServices, CoordinationTotals } from './coordination-activity.ts';
import type { LeaseKind } from '../storage/sqlite/lease-store.ts';

/** Queues given their own `sluice_queue_size` series at most (the largest): a label per queue name must stay bounded. */
export const QUEUE_SERIES = 100;

const KINDS: readonly LeaseKind[] = ['lock', 'semaphore'];

/**
 * Prometheus metrics for queues, variables, flags, locks, semaphores and
 * topics. Gauges are read from the services when scraped; counters from the
 * totals the firehose's CoordinationActivity keeps since start.
 */
export function registerCoordinationMetrics(registry: Registry, services: CoordinationServices, totals: Readonly<CoordinationTotals>): void {
  const registers = [registry];
  const { queues, variables, flags, leases, topics } = services;
  const counter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };

  new Gauge({
    name: 'sluice_queues',
    help: 'Queues (configured or put to)',
    registers,
    collect() {
      this.set(queues.list().length);
    },
  });
  new Gauge({
    name: 'sluice_queue_items',
    help: 'Items waiting in all queues',
    registers,
    collect() {
      this.set(queues.totals().items);
    },
  });
  new Gauge({
    name: 'sluice_queue_size',
    help: `Items waiting, per queue (the ${QUEUE_SERIES} largest queues; sluice_queue_items counts them all)`,
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset(); // deleted queues and those no longer among the largest go
      const largest = queues
        .list()
        .sort((a, b) => b.size - a.size)
        .slice(0, QUEUE_SERIES);
      for (const queue of largest) this.set({ queue: queue.name }, queue.size);
    },
  });
  new Gauge({
    name: 'sluice_queue_waiters',
    help: 'Callers waiting on queues: to get an item, or for room to put',
    labelNames: ['side'],
    registers,
    collect() {
      const { getters, putters } = queues.totals();
      this.set({ side: 'get' }, getters);
      this.set({ side: 'put' }, putters);
    },
  });
  counter('sluice_queue_puts_total', 'Items put into queues since start', () => totals.queuePuts);
  counter('sluice_queue_gets_total', 'Items delivered from queues since start', () => totals.queueGets);

  new Gauge({
    name: 'sluice_variables',
    help: 'Variables that are set',
    registers,
    collect() {
      this.set(variables.count);
    },
  });
  counter('sluice_variable_sets_total', 'Variable sets since start', () => totals.variableSets);
  new Gauge({
    name: 'sluice_flags_set',
    help: 'Flags (events) that are set',
    registers,
    collect() {
      this.set(flags.setCount);
    },
  });

  new Gauge({
    name: 'sluice_leases_held',
    help: 'Leases held now, on locks and on semaphores',
    labelNames: ['kind'],
    registers,
    collect() {
      const now = leases.totals();
      for (const kind of KINDS) this.set({ kind }, now[kind].held);
    },
  });
  new Gauge({
    name: 'sluice_lease_waiters',
    help: 'Callers waiting to acquire a lock or a semaphore',
    labelNames: ['kind'],
    registers,
    collect() {
      const now = leases.totals();
      for (const kind of KINDS) this.set({ kind }, now[kind].waiting);
    },
  });
  new Counter({
    name: 'sluice_lease_grants_total',
    help: 'Leases granted since start',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const kind of KINDS) this.inc({ kind }, totals.leasesAcquired[kind]);
    },
  });
  new Counter({
    name: 'sluice_lease_ends_total',
    help: 'Leases ended since start: released (by the holder, its session ending, or a grant that never reached it) or expired (not renewed in time)',
    labelNames: ['kind', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const kind of KINDS) {
        this.inc({ kind, reason: 'released' }, totals.leasesReleased[kind]);
        this.inc({ kind, reason: 'expired' }, totals.leasesExpired[kind]);
      }
    },
  });

  new Gauge({
    name: 'sluice_topic_replay_bytes',
    help: 'Characters of messages kept for replay, in all topics',
    registers,
    collect() {
      this.set(topics.replayBytes);
    },
  });
  new Gauge({
    name: 'sluice_topics',
    help: 'Pub/sub topics in memory (with subscribers, or messages in the last minutes)',
    registers,
    collect() {
      this.set(topics.list().length);
    },
  });
  new Gauge({
    name: 'sluice_topic_subscribers',
    help: 'Subscribers of all topics',
    registers,
    collect() {
      this.set(topics.subscriberCount);
    },
  });
  counter('sluice_topic_messages_total', 'Messages published since start', () => totals.topicMessages);
}
