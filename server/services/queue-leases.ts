import type { FastifyBaseLogger } from 'fastify';
import { errors } from '../errors.ts';
import type { LeaseKeeper, Queues } from './queues.ts';
import type { Caller } from './holds.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { TaskEvents } from './task-events.ts';
import type { QueueLeaseStore } from '../storage/sqlite/queue-lease-store.ts';

interface QueueLease {
  readonly id: string;
  readonly queue: string;
  readonly clientId: string | null;
  readonly ttlMs: number;
  /** Its items not yet acknowledged or given back, in id order. */
  readonly items: Set<number>;
  expiresAt: number;
  readonly timer: NodeJS.Timeout;
}

/** A lease as ack, release and renew answer it. */
export interface QueueLeaseAnswer {
  leaseId: string;
  queue: string;
  ttlMs: number;
  expiresAt: string;
  /** Items still under the lease. */
  ids: number[];
}

/**
 * Leases on queue items: a get with ack leases the items it takes instead of
 * removing them. They stay in the store, out of line, until the getter
 * acknowledges them (they leave the queue for good) or they come back to the
 * front of the line: released by the getter, not renewed within the lease's
 * ttl, or their getter's client session ended. So an item is removed only
 * once a consumer says it is done with it, and a consumer that dies gives
 * its items back by itself.
 *
 * A lease starts as its items are taken (the reply that carries it may be
 * lost: then it ends at once and the items go back); it is committed with
 * its items before any ack is answered. Renewals are not
 * written: after a restart, every lease gets a full ttl from the start, so a
 * consumer that is still alive can acknowledge before its items go back.
 */
export class QueueLeases implements LeaseKeeper {
  readonly #lifecycle: Lifecycle;
  readonly #tasks: TaskEvents;
  readonly #queues: Queues;
  readonly #store: QueueLeaseStore;
  readonly #log: FastifyBaseLogger;
  readonly #leases = new Map<string, QueueLease>();

  constructor(lifecycle: Lifecycle, tasks: TaskEvents, queues: Queues, store: QueueLeaseStore, log: FastifyBaseLogger) {
    this.#lifecycle = lifecycle;
    this.#tasks = tasks;
    this.#queues = queues;
    this.#store = store;
    this.#log = log;
  }

  /** After Queues.start(): bring back the leases of a previous run, each with a full ttl from now. */
  start(): void {
    this.#queues.leases = this;
    for (const row of this.#store.leases()) {
      const items = this.#queues.withhold(row.queue, row.items);
      if (items.length === 0) {
        this.#store.delete(row.id); // nothing of it left in the queue
        continue;
      }
      this.#hold(row.id, row.queue, row.client_id, row.ttl_ms, items);
    }
    if (this.#leases.size > 0) this.#log.info({ leases: this.#leases.size }, 'restored queue leases; their items go back in line unless acknowledged or renewed within their ttl');
    this.#tasks.on('client:ended', this.#onClientEnded);
    this.#queues.events.on('queue:deleted', this.#onQueueDeleted);
  }

  close(): void {
    this.#tasks.off('client:ended', this.#onClientEnded);
    this.#queues.events.off('queue:deleted', this.#onQueueDeleted);
    for (const lease of this.#leases.values()) clearTimeout(lease.timer);
  }

  /** Items under leases now, in all queues. */
  get leasedItems(): number {
    let n = 0;
    for (const lease of this.#leases.values()) n += lease.items.size;
    return n;
  }

  /** Queues: items were taken under a lease (the reply carrying it is on its way). */
  leased(queue: string, leaseId: string, ids: readonly number[], caller: Caller, ttlMs: number): void {
    const clientId = caller.clientId ?? null;
    this.#store.insert({ id: leaseId, queue, client_id: clientId, ttl_ms: ttlMs, leased_at: Date.now() }, ids);
    this.#hold(leaseId, queue, clientId, ttlMs, ids);
  }

  /** Queues: the reply carrying the lease never reached the getter. */
  lost(leaseId: string): void {
    const lease = this.#leases.get(leaseId);
    if (!lease) return;
    const items = [...lease.items];
    this.#drop(lease, items);
    this.#queues.returnLeased(lease.queue, items);
  }

  /** The items (default: all of the lease's) are done with: they leave the queue. 409 if the lease is not held. */
  ack(queue: string, leaseId: string, ids?: readonly number[]): QueueLeaseAnswer & { acked: number } {
    this.#lifecycle.assertOpen();
    const lease = this.#find(queue, leaseId);
    const items = this.#pick(lease, ids);
    this.#drop(lease, items);
    this.#queues.ackLeased(queue, items);
    return { ...answer(lease), acked: items.length };
  }

  /** Give the items (default: all of the lease's) back to the front of the line. 409 if the lease is not held. */
  release(queue: string, leaseId: string, ids?: readonly number[]): QueueLeaseAnswer & { released: number } {
    this.#lifecycle.assertOpen();
    const lease = this.#find(queue, leaseId);
    const items = this.#pick(lease, ids);
    this.#drop(lease, items);
    this.#queues.returnLeased(queue, items);
    return { ...answer(lease), released: items.length };
  }

  /** Extend the lease to its ttl from now. 409 if it is not held. */
  renew(queue: string, leaseId: string): QueueLeaseAnswer {
    const lease = this.#find(queue, leaseId);
    lease.expiresAt = Date.now() + lease.ttlMs;
    lease.timer.refresh();
    return answer(lease);
  }

  // ── internals ──────────────────────────────────────────────────────────

  #hold(id: string, queue: string, clientId: string | null, ttlMs: number, ids: readonly number[]): void {
    const timer = setTimeout(() => this.#expire(id), ttlMs);
    timer.unref();
    this.#leases.set(id, { id, queue, clientId, ttlMs, items: new Set(ids), expiresAt: Date.now() + ttlMs, timer });
  }

  #find(queue: string, leaseId: string): QueueLease {
    const lease = this.#leases.get(leaseId);
    if (!lease || lease.queue !== queue) {
      throw errors.queueLeaseNotHeld(queue, leaseId);
    }
    return lease;
  }

  /** The ids asked for, all under this lease (400 otherwise); every item of the lease if none are given. */
  #pick(lease: QueueLease, ids: readonly number[] | undefined): number[] {
    if (ids === undefined) return [...lease.items];
    const unknown = ids.filter((id) => !lease.items.has(id));
    if (unknown.length > 0) {
      throw errors.idsNotUnderLease(unknown, lease.id);
    }
    return [...new Set(ids)];
  }

  /** These items are no longer under the lease; a lease left with none ends. */
  #drop(lease: QueueLease, items: readonly number[]): void {
    for (const id of items) lease.items.delete(id);
    if (lease.items.size === 0) {
      clearTimeout(lease.timer);
      this.#leases.delete(lease.id);
      this.#store.delete(lease.id);
    } else {
      this.#store.removeItems(items);
    }
  }

  /** The lease ends without an ack: its items go back to the front of the line. */
  #giveBack(lease: QueueLease, why: string): void {
    const items = [...lease.items];
    this.#log.warn({ queue: lease.queue, leaseId: lease.id, clientId: lease.clientId, items: items.length }, why);
    this.#drop(lease, items);
    this.#queues.returnLeased(lease.queue, items);
  }

  #expire(id: string): void {
    const lease = this.#leases.get(id);
    if (lease) this.#giveBack(lease, 'queue lease lapsed: not renewed within its ttl; its items are back in the queue');
  }

  readonly #onClientEnded = (clientId: string): void => {
    for (const lease of [...this.#leases.values()]) {
      if (lease.clientId === clientId) this.#giveBack(lease, 'client session ended; its leased queue items are back in the queue');
    }
  };

  /** The queue and its items are gone: so are their leases. */
  readonly #onQueueDeleted = (queue: string): void => {
    for (const lease of [...this.#leases.values()]) {
      if (lease.queue !== queue) continue;
      clearTimeout(lease.timer);
      this.#leases.delete(lease.id);
      this.#store.delete(lease.id);
    }
  };
}

function answer(lease: QueueLease): QueueLeaseAnswer {
  return { leaseId: lease.id, queue: lease.queue, ttlMs: lease.ttlMs, expiresAt: new Date(lease.expiresAt).toISOString(), ids: [...lease.items].sort((a, b) => a - b) };
}
