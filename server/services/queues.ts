import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { randomId } from '../../schemas/keys.ts';
import type { QueueInfo } from '../../schemas/queues.ts';
import { errors, type SluiceError } from '../errors.ts';
import type { FutureRefs } from './future-refs.ts';
import type { Presence } from '../http/reply-delivery.ts';
import type { Caller } from './holds.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { queueItemHolder } from '../state/holder-kinds.ts';
import { IdDeque } from '../state/id-deque.ts';
import type { ItemRow, QueueStore } from '../storage/sqlite/queue-store.ts';
import { WaitLine, type WaitingCalls } from './wait-line.ts';

const IDEMPOTENCY_HORIZON_MS = 24 * 3600 * 1000;

/**
 * Items handed to one getter. The reply carrying them decides what happens
 * next: written, they leave the store and their futures pass to the getter;
 * lost (the connection failed first), they go back to the front of the line.
 */
export interface Delivery {
  /** The reply body, {"items":[...]}, built from the stored JSON text. */
  readonly json: string;
  readonly count: number;
  written(): void;
  lost(): void;
}

export interface WaitingCall {
  timeoutMs: number;
  /** The caller; a waiting call leaves its line once it is gone. */
  presence?: Presence;
}

export interface QueueLimits {
  /** Queues that exist at once (--max-queues). */
  maxQueues: number;
  /** Items waiting in all queues together (--max-queue-items). */
  maxItems: number;
  /** Characters of items held by puts waiting for room, all together (--max-waiting-put-bytes). */
  maxWaitingPutBytes: number;
  /** Largest reply a get builds; it takes fewer items, at least one (--max-reply-bytes). */
  maxReplyBytes: number;
  /** Most items in one put or get (--max-batch). */
  maxBatch: number;
}

/** A get with ack: the items are leased to the getter rather than taken (see queue-leases.ts). */
export interface LeaseRequest {
  ttlMs: number;
}

/** What Queues tells the queue leases: a reply carrying leased items was written. */
export interface LeaseKeeper {
  /** Items were leased to a getter: the lease starts. */
  leased(queue: string, leaseId: string, ids: readonly number[], caller: Caller, ttlMs: number): void;
  /** The reply carrying the lease was not written: it ends, its items back at the front. */
  lost(leaseId: string): void;
}

/** A put, its items already JSON text (as they are stored), with the futures each refers to. */
interface PendingPut {
  readonly items: readonly string[];
  readonly refs: ReadonlyArray<readonly string[]>;
  /** Characters of its items: what it holds while it waits. */
  readonly bytes: number;
  readonly caller: Caller;
  readonly idempotencyKey: string | undefined;
}

/**
 * Events about queues, for the dashboard's firehose and the metrics. They are
 * emitted as the change is made, carry no items, and cost nothing without
 * listeners; what a queue looks like after is `info(name)`.
 */
export interface QueueEvents {
  /** `count` items were stored (a put, or a waiting put let in). */
  'queue:put': [name: string, count: number];
  /** `count` items were delivered to a getter and left the store. */
  'queue:got': [name: string, count: number];
  /** Created, or its maxsize changed. */
  'queue:configured': [name: string];
  'queue:deleted': [name: string];
  /** Anything else that info() shows changed: a caller began or stopped waiting, items went back to the front. */
  'queue:changed': [name: string];
}

interface QueueState {
  readonly name: string;
  maxsize: number | null;
  /** Has a row in the queues table (configured, or put to). */
  stored: boolean;
  /** Bumped by delete: deliveries from before it do not come back. */
  generation: number;
  /** Ids of the items waiting to be taken, oldest first. */
  ready: IdDeque;
  /** Items handed to getters whose replies are not written yet; they still count against maxsize. */
  inflight: number;
  /** Items leased to getters (a get with ack), out of line until acknowledged or given back; they count against maxsize. */
  leased: number;
  readonly getters: WaitLine<Delivery, { batch: number; caller: Caller; lease?: LeaseRequest }>;
  readonly putters: WaitLine<number, PendingPut>;
}

/**
 * Queues (Dask's Queue): named FIFO lines of JSON items, durable, shared by
 * every client. Each item goes to exactly one getter. A put is committed
 * before it is acknowledged; an item leaves the store only once the reply
 * that delivers it has been written, so neither a getter that drops its
 * connection nor a crash loses it (after a crash it is delivered again:
 * at-least-once).
 *
 * Getters and putters that have to wait stand in first-come, first-served
 * lines. Everything that changes a line happens synchronously in the
 * scheduler's one thread; replies wait for the group commit, so a getter
 * never receives an item whose put is not yet durable.
 */
export class Queues {
  readonly events = new EventEmitter<QueueEvents>();
  readonly #lifecycle: Lifecycle;
  /** Callers waiting at once, across every kind of wait (--max-waiting-calls). */
  readonly #calls: WaitingCalls;
  readonly #store: QueueStore;
  readonly #refs: FutureRefs;
  readonly #log: FastifyBaseLogger;
  readonly #queues = new Map<string, QueueState>();
  readonly #maxBatch: number;
  readonly #limits: QueueLimits;
  /** Queues with a row in the store. */
  #storedCount = 0;
  /** Items in the store, in every queue (waiting, or handed to a getter whose reply is not written yet). */
  #itemCount = 0;
  /** Characters of the items of the puts waiting for room. */
  #waitingPutBytes = 0;
  #purgeTimer: NodeJS.Timeout | undefined;
  /** Set by the queue leases (gets with ack). */
  leases: LeaseKeeper | undefined;

  constructor(lifecycle: Lifecycle, calls: WaitingCalls, store: QueueStore, refs: FutureRefs, log: FastifyBaseLogger, limits: QueueLimits) {
    this.#lifecycle = lifecycle;
    this.#calls = calls;
    this.#store = store;
    this.#refs = refs;
    this.#log = log;
    this.#maxBatch = limits.maxBatch;
    this.#limits = limits;
  }

  /** Load the queues and items of a previous run, items delivered but not removed included. */
  start(): void {
    for (const row of this.#store.queues()) {
      const queue = this.#state(row.name);
      queue.stored = true;
      queue.maxsize = row.maxsize;
      this.#storedCount++;
    }
    for (const { id, queue } of this.#store.itemIds()) {
      this.#state(queue).ready.push(id);
      this.#itemCount++;
    }
    this.#purgeTimer = setInterval(() => this.#store.purgePuts(Date.now() - IDEMPOTENCY_HORIZON_MS), 3600_000);
    this.#purgeTimer.unref();
  }

  close(): void {
    clearInterval(this.#purgeTimer);
  }

  /** Shutdown: waiting calls answer 503, and clients retry against the next run. */
  drain(): void {
    for (const queue of this.#queues.values()) {
      queue.getters.rejectAll(errors.shuttingDown());
      queue.putters.rejectAll(errors.shuttingDown());
    }
  }

  list(): QueueInfo[] {
    return [...this.#queues.values()].filter((q) => q.stored).map(info);
  }

  /**
   * For dashboards: the queues of list(), and those that exist only because
   * somebody waits on them. With a name, that queue, if it is one of these.
   */
  overview(): QueueInfo[];
  overview(name: string): QueueInfo | undefined;
  overview(name?: string): QueueInfo[] | QueueInfo | undefined {
    const shown = (q: QueueState): boolean => q.stored || q.getters.size > 0 || q.putters.size > 0;
    if (name === undefined) return [...this.#queues.values()].filter(shown).map(info);
    const queue = this.#queues.get(name);
    return queue && shown(queue) ? info(queue) : undefined;
  }

  /** Items waiting in every queue, and callers waiting to get and to put. */
  totals(): { items: number; getters: number; putters: number } {
    const totals = { items: 0, getters: 0, putters: 0 };
    for (const queue of this.#queues.values()) {
      totals.items += queue.ready.length;
      totals.getters += queue.getters.size;
      totals.putters += queue.putters.size;
    }
    return totals;
  }

  /** A queue that was never configured or put to is unknown, unless somebody waits on it. */
  info(name: string): QueueInfo {
    const queue = this.#queues.get(name);
    if (!queue) throw errors.unknownQueue(name);
    return info(queue);
  }

  /** Create the queue, or change its maxsize (undefined: leave it as it is). */
  configure(name: string, maxsize: number | null | undefined): QueueInfo {
    this.#lifecycle.assertOpen();
    this.#assertRoomFor(name);
    const queue = this.#state(name);
    if (maxsize !== undefined) queue.maxsize = maxsize;
    this.#store.saveQueue(name, queue.maxsize, Date.now());
    this.#markStored(queue);
    if (queue.maxsize !== null) {
      for (const putter of [...queue.putters]) {
        if (putter.data.items.length > queue.maxsize) putter.reject(neverFits(queue, putter.data.items.length));
      }
    }
    this.#admit(queue);
    this.events.emit('queue:configured', name);
    return info(queue);
  }

  /**
   * Put items at the back of the line. On a full queue, waits (first come,
   * first served) until there is room for all of them. Throws, storing
   * nothing, for an unknown future, a batch that can never fit, or a timeout.
   */
  async put(name: string, values: readonly unknown[], caller: Caller, call: WaitingCall & { idempotencyKey?: string }): Promise<{ size: number }> {
    this.#lifecycle.assertOpen();
    if (values.length > this.#maxBatch) throw errors.tooLarge(`a put of ${values.length} items`, this.#maxBatch);
    if (call.idempotencyKey !== undefined) {
      const previous = this.#store.previousPut(name, call.idempotencyKey);
      if (previous) return previous;
    }
    const refs = values.map((value) => this.#refs.check(value)); // 404 naming the key, before any write
    this.#assertRoomFor(name);
    this.#assertItemRoom(values.length);
    const queue = this.#state(name);
    if (queue.maxsize !== null && values.length > queue.maxsize) {
      this.#forgetIfIdle(queue);
      throw neverFits(queue, values.length);
    }
    // As stored: JSON text, encoded once here, kept (and counted) as such while the put waits.
    const items = values.map((value) => JSON.stringify(value));
    const pending: PendingPut = { items, refs, bytes: items.reduce((n, item) => n + item.length, 0), caller, idempotencyKey: call.idempotencyKey };
    if (queue.putters.size === 0 && fits(queue, values.length)) return { size: this.#insert(queue, pending, false) };
    let waiting: Promise<number>;
    try {
      this.#holdWaitingPut(pending.bytes);
      waiting = queue.putters.wait(pending, { timeoutMs: call.timeoutMs, what: `room for ${values.length} in queue ${name}`, presence: call.presence });
    } catch (error) {
      this.#forgetIfIdle(queue);
      throw error;
    }
    this.events.emit('queue:changed', name);
    try {
      return { size: await waiting };
    } finally {
      this.#waitingPutBytes -= pending.bytes;
      this.events.emit('queue:changed', name);
      this.#forgetIfIdle(queue);
    }
  }

  /**
   * Take up to `batch` items from the front: waits (first come, first
   * served) for the first one, then takes what is there. The caller must
   * report what became of the reply (see Delivery).
   */
  async get(name: string, batch: number, caller: Caller, call: WaitingCall, lease?: LeaseRequest): Promise<Delivery> {
    this.#lifecycle.assertOpen();
    if (batch > this.#maxBatch) throw errors.tooLarge(`a batch of ${batch} items`, this.#maxBatch);
    const queue = this.#state(name);
    if (queue.getters.size === 0 && queue.ready.length > 0) return this.#take(queue, batch, caller, undefined, lease);
    const waiting = queue.getters.wait({ batch, caller, lease }, { timeoutMs: call.timeoutMs, what: `an item in queue ${name}`, presence: call.presence });
    this.events.emit('queue:changed', name);
    try {
      return await waiting;
    } finally {
      this.events.emit('queue:changed', name);
      this.#forgetIfIdle(queue);
    }
  }

  /** Delete the queue and its items; their futures are let go. Waiting getters go on waiting. */
  delete(name: string): void {
    this.#lifecycle.assertOpen();
    const queue = this.#queues.get(name);
    if (!queue?.stored) throw errors.unknownQueue(name);
    const items = this.#store.deleteQueue(name);
    for (const item of items) this.#refs.release(item.refs, queueItemHolder(name, item.id));
    this.#itemCount -= items.length;
    this.#storedCount--;
    queue.stored = false;
    queue.maxsize = null;
    queue.ready = new IdDeque();
    queue.leased = 0;
    queue.generation++;
    this.events.emit('queue:deleted', name);
    this.#admit(queue);
    this.#forgetIfIdle(queue);
  }

  // ── internals ──────────────────────────────────────────────────────────

  #state(name: string): QueueState {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = { name, maxsize: null, stored: false, generation: 0, ready: new IdDeque(), inflight: 0, leased: 0, getters: new WaitLine(this.#calls), putters: new WaitLine(this.#calls) };
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Throws 503 if the queue does not exist and --max-queues do. */
  #assertRoomFor(name: string): void {
    if (this.#queues.get(name)?.stored || this.#storedCount < this.#limits.maxQueues) return;
    throw errors.tooManyQueues(this.#storedCount, this.#limits.maxQueues);
  }

  /** Throws 503 if `count` more items would pass --max-queue-items. */
  #assertItemRoom(count: number): void {
    if (this.#itemCount + count <= this.#limits.maxItems) return;
    throw errors.queueItemsFull(this.#itemCount, count, this.#limits.maxItems);
  }

  /** A put is about to wait: its items count against --max-waiting-put-bytes (413 if they alone pass it, 503 if with the others). */
  #holdWaitingPut(bytes: number): void {
    const limit = this.#limits.maxWaitingPutBytes;
    if (bytes > limit) {
      throw errors.putNeverWaits(bytes, limit);
    }
    if (this.#waitingPutBytes + bytes > limit) {
      throw errors.waitingPutsFull(this.#waitingPutBytes, bytes, limit);
    }
    this.#waitingPutBytes += bytes;
  }

  #markStored(queue: QueueState): void {
    if (queue.stored) return;
    queue.stored = true;
    this.#storedCount++;
  }

  /** A queue that exists only because somebody waited on it is dropped when nobody does. */
  #forgetIfIdle(queue: QueueState): void {
    if (queue.stored || queue.ready.length > 0 || queue.inflight > 0 || queue.leased > 0 || queue.getters.size > 0 || queue.putters.size > 0) return;
    if (this.#queues.get(queue.name) === queue) this.#queues.delete(queue.name);
  }

  /**
   * Store the items, hold their futures, hand them to waiting getters.
   * Answers the size after. Every future is checked before anything is
   * written: those of a put that waited are checked again (one may have
   * been forgotten since), as are the limits.
   */
  #insert(queue: QueueState, put: PendingPut, waited = true): number {
    if (waited) {
      for (const keys of put.refs) this.#refs.checkKeys(keys);
      this.#assertRoomFor(queue.name);
      this.#assertItemRoom(put.items.length);
    }
    const now = Date.now();
    if (!queue.stored) {
      this.#store.saveQueue(queue.name, queue.maxsize, now);
      this.#markStored(queue);
    }
    // Getters waiting now take these very items (they wait only while none are ready): they take them from here, not back from the store.
    const fresh = queue.getters.size > 0 ? new Map<number, ItemRow>() : undefined;
    for (const [i, json] of put.items.entries()) {
      const refs = put.refs[i];
      const id = this.#store.insertItem(queue.name, json, refs, now);
      this.#refs.hold(refs, queueItemHolder(queue.name, id));
      queue.ready.push(id);
      fresh?.set(id, { id, value: json, refs });
    }
    this.#itemCount += put.items.length;
    this.events.emit('queue:put', queue.name, put.items.length);
    this.#serve(queue, fresh);
    const size = queue.ready.length;
    if (put.idempotencyKey !== undefined) this.#store.recordPut(queue.name, put.idempotencyKey, { size }, now);
    return size;
  }

  /** Waiting putters whose items now fit go in, in the order they came. */
  #admit(queue: QueueState): void {
    for (let putter = queue.putters.first(); putter && fits(queue, putter.data.items.length); putter = queue.putters.first()) {
      try {
        putter.resolve(this.#insert(queue, putter.data));
      } catch (error) {
        // A future it refers to was forgotten while it waited, or the queues are full.
        putter.reject(error as Error);
      }
    }
  }

  /** Waiting getters take items, in the order they came; `fresh`: items just put, as stored. */
  #serve(queue: QueueState, fresh?: ReadonlyMap<number, ItemRow>): void {
    for (let getter = queue.getters.first(); getter && queue.ready.length > 0; getter = queue.getters.first()) {
      getter.resolve(this.#take(queue, getter.data.batch, getter.data.caller, fresh, getter.data.lease));
    }
  }

  /** Up to `batch` items from the front, as many as fit in the largest reply (at least one). */
  #take(queue: QueueState, batch: number, caller: Caller, fresh?: ReadonlyMap<number, ItemRow>, lease?: LeaseRequest): Delivery {
    const rows: ItemRow[] = [];
    let bytes = 0;
    while (rows.length < batch && queue.ready.length > 0) {
      const id = queue.ready.peek() as number;
      const row = fresh?.get(id) ?? this.#store.item(id);
      if (row && rows.length > 0 && bytes + row.value.length + 1 > this.#limits.maxReplyBytes) break;
      queue.ready.shift();
      if (!row) {
        this.#log.error({ queue: queue.name, id }, 'queue item missing from the store; skipping it');
        continue;
      }
      rows.push(row);
      bytes += row.value.length + 1;
    }
    queue.inflight += rows.length;
    if (lease) return this.#lease(queue, rows, caller, lease);
    const generation = queue.generation;
    let settled = false;
    return {
      json: `{"items":[${rows.map((r) => r.value).join(',')}]}`,
      count: rows.length,
      written: () => {
        if (settled) return;
        settled = true;
        queue.inflight -= rows.length;
        if (generation === queue.generation) this.#itemCount -= rows.length; // else delete counted them
        for (const row of rows) {
          this.#store.deleteItem(row.id);
          this.#refs.handOver(row.refs, queueItemHolder(queue.name, row.id), caller);
        }
        if (rows.length > 0) this.events.emit('queue:got', queue.name, rows.length);
        this.#admit(queue);
        this.#forgetIfIdle(queue);
      },
      lost: () => {
        if (settled) return;
        settled = true;
        queue.inflight -= rows.length;
        if (generation === queue.generation) {
          this.#log.info({ queue: queue.name, items: rows.length }, 'queue items not delivered: the connection failed before the reply was written; they are back at the front');
          queue.ready.restore(rows.map((r) => r.id));
          this.events.emit('queue:changed', queue.name);
          this.#serve(queue);
        }
        this.#admit(queue);
        this.#forgetIfIdle(queue);
      },
    };
  }
  // ── gets with ack: items leased, then acknowledged or given back (queue-leases.ts keeps the leases) ──

  /**
   * A delivery of leased items: the reply also carries the lease. The lease
   * starts now (the getter may acknowledge as soon as it has the reply, which
   * can be before the server hears that the reply was written), and the
   * getter holds the items' futures from now; if the reply is lost, the
   * lease ends and the items go back to the front at once.
   */
  #lease(queue: QueueState, rows: readonly ItemRow[], caller: Caller, lease: LeaseRequest): Delivery {
    const leaseId = randomId();
    const ids = rows.map((r) => r.id);
    queue.inflight -= rows.length;
    queue.leased += rows.length;
    for (const row of rows) this.#refs.giveTo(row.refs, caller);
    this.leases?.leased(queue.name, leaseId, ids, caller, lease.ttlMs);
    this.events.emit('queue:changed', queue.name);
    let settled = false;
    return {
      json: `{"items":[${rows.map((r) => r.value).join(',')}],"lease":${JSON.stringify({ id: leaseId, ttlMs: lease.ttlMs, ids })}}`,
      count: rows.length,
      written: () => {
        settled = true;
      },
      lost: () => {
        if (settled) return;
        settled = true;
        this.#log.info({ queue: queue.name, items: rows.length }, 'leased queue items not delivered: the connection failed before the reply was written; they are back at the front');
        this.leases?.lost(leaseId);
      },
    };
  }

  /** At start: items leased before the restart stay out of line until their lease ends. Answers the ids found in line. */
  withhold(name: string, ids: readonly number[]): number[] {
    const queue = this.#queues.get(name);
    if (!queue || ids.length === 0) return [];
    const leased = new Set(ids);
    const rest = new IdDeque();
    const found: number[] = [];
    for (const id of queue.ready) {
      if (leased.has(id)) found.push(id);
      else rest.push(id);
    }
    queue.leased += found.length;
    queue.ready = rest;
    return found;
  }

  /** Leased items given back (released, lapsed, or their session ended): to the front of the line, in order. */
  returnLeased(name: string, ids: readonly number[]): void {
    const queue = this.#queues.get(name);
    if (!queue || ids.length === 0) return;
    queue.leased -= ids.length;
    queue.ready.restore(ids);
    this.events.emit('queue:changed', name);
    this.#serve(queue);
    this.#admit(queue);
  }

  /** Leased items acknowledged: they leave the store, and let go of their futures (the getter holds its own). */
  ackLeased(name: string, ids: readonly number[]): void {
    const queue = this.#queues.get(name);
    if (!queue || ids.length === 0) return;
    queue.leased -= ids.length;
    for (const id of ids) {
      const row = this.#store.item(id);
      if (!row) continue;
      this.#store.deleteItem(id);
      this.#itemCount--;
      this.#refs.release(row.refs, queueItemHolder(name, id));
    }
    this.events.emit('queue:got', name, ids.length);
    this.#admit(queue);
    this.#forgetIfIdle(queue);
  }
}

function fits(queue: QueueState, count: number): boolean {
  return queue.maxsize === null || queue.ready.length + queue.inflight + queue.leased + count <= queue.maxsize;
}

function neverFits(queue: QueueState, count: number): SluiceError {
  return errors.putNeverFits(count, queue.name, queue.maxsize);
}

function info(queue: QueueState): QueueInfo {
  return { name: queue.name, size: queue.ready.length, maxsize: queue.maxsize, getters: queue.getters.size, putters: queue.putters.size, leased: queue.leased };
}
