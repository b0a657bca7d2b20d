import type { QueueInfo } from '../schemas/queues.ts';
import { randomId } from '../schemas/keys.ts';
import { ROUTES } from '../schemas/routes.ts';
import { call, closedError, revive, waitFor } from './calls.ts';
import type { Client } from './client.ts';
import { SluiceError } from './errors.ts';
import { QueueLease } from './queue-lease.ts';

export interface QueueOptions {
  /** A put waits while the queue holds this many items; null: unbounded. Absent: left as it is. */
  maxsize?: number | null;
}

export interface QueueLeaseOptions extends QueueWaitOptions {
  /** Take up to this many items (waits for the first, then takes what is there). Default 1. */
  batch?: number;
  /** The lease lapses unless renewed within this long (the client renews it every third of it). Default 30 s, at least 100 ms. */
  ttlMs?: number;
}

export interface QueueWaitOptions {
  /** Give up after this long with a TimeoutError (default: wait as long as it takes; 0: do not wait). */
  timeoutMs?: number;
  /** Give up when this aborts, rejecting with its reason (`Stream.fromQueue` passes one). */
  signal?: AbortSignal;
}

/**
 * A named FIFO queue on the scheduler, shared by every client (Dask's
 * Queue), durable across restarts. Each item goes to exactly one getter.
 * Items are JSON values or Futures (anywhere inside an item); the queue holds
 * the futures, and a getter's client holds them once it has them.
 *
 * Puts made through one Queue object are sent in the order they were made.
 * A put retried after a lost answer is not stored twice.
 *
 * `await get()` gives the item; a Future item is awaitable, and a promise
 * cannot resolve to one, so for a queue of futures it gives the future's
 * result. To receive Future objects, iterate (`for await (const f of queue)`)
 * or use `getBatch`.
 */
export class Queue<T = unknown> implements AsyncIterable<T> {
  readonly name: string;
  readonly client: Client;
  readonly #closer = new AbortController();
  readonly #configured: Promise<unknown>;
  #lastPut: Promise<unknown> = Promise.resolve();

  constructor(client: Client, name: string, options: QueueOptions = {}) {
    this.client = client;
    this.name = name;
    this.#configured =
      options.maxsize === undefined ? Promise.resolve() : call(client, this.#closer.signal, ROUTES.queueConfigure, { params: { name }, body: { maxsize: options.maxsize } });
    this.#configured.catch(() => undefined);
  }

  /** Put an item at the back; on a full queue, waits for room. Resolves with the queue's size after. */
  put(item: T, options: QueueWaitOptions = {}): Promise<number> {
    return this.putMany([item], options);
  }

  /** Put several items at once, in order: all of them or none. */
  putMany(items: readonly T[], options: QueueWaitOptions = {}): Promise<number> {
    const body = { items, idempotencyKey: randomId() };
    const send = async (): Promise<number> => {
      await this.#configured;
      await this.client.flush(); // futures submitted just before must exist before the queue holds them
      const { size } = await waitFor(
        (timeoutS) => call(this.client, this.#closer.signal, ROUTES.queuePut, { params: { name: this.name }, query: { timeout: timeoutS }, body }),
        { timeoutMs: options.timeoutMs, failure: `queue ${this.name} had no room` },
      );
      return size;
    };
    const put = this.#lastPut.then(send, send);
    this.#lastPut = put.catch(() => undefined);
    return put;
  }

  /** Take the item at the front, waiting for one. See the class note on futures. */
  async get(options: QueueWaitOptions = {}): Promise<Awaited<T>> {
    const [item] = await this.getBatch(1, options);
    return item as Awaited<T>;
  }

  /** Take up to n items from the front: waits for the first, then takes what is there. */
  async getBatch(n: number, options: QueueWaitOptions = {}): Promise<T[]> {
    await this.#configured;
    const signal = options.signal ? AbortSignal.any([this.#closer.signal, options.signal]) : this.#closer.signal;
    try {
      const { items } = await waitFor(
        (timeoutS) => call(this.client, signal, ROUTES.queueGet, { params: { name: this.name }, query: { batch: n, timeout: timeoutS } }),
        { timeoutMs: options.timeoutMs, failure: `no item came to queue ${this.name}` },
      );
      return items.map((item) => revive<T>(item, this.client));
    } catch (error) {
      if (options.signal?.aborted && !this.#closer.signal.aborted) throw options.signal.reason;
      throw error;
    }
  }

  /**
   * Take up to `batch` items (default 1) under a lease rather than for good
   * (a get with ack): they stay in the queue, out of line, until the lease's
   * `ack()`; they go back to the front with `release()`, or by themselves if
   * the lease is not renewed within `ttlMs` (default 30 s; the client renews
   * it while items remain) or this client closes. Waits for the first item
   * as get() does.
   */
  async lease(options: QueueLeaseOptions = {}): Promise<QueueLease<T>> {
    await this.#configured;
    const signal = options.signal ? AbortSignal.any([this.#closer.signal, options.signal]) : this.#closer.signal;
    const batch = options.batch ?? 1;
    const ttlMs = options.ttlMs ?? 30_000;
    const sentAt = Date.now();
    try {
      const answer = await waitFor(
        (timeoutS) => call(this.client, signal, ROUTES.queueGet, { params: { name: this.name }, query: { batch, timeout: timeoutS, ack: true, ttlMs } }),
        { timeoutMs: options.timeoutMs, failure: `no item came to queue ${this.name}` },
      );
      const items = answer.items.map((item) => revive<T>(item, this.client));
      // GetReply's lease is there whenever the get has ack=true, as this one has.
      return new QueueLease<T>(this.client, this.name, answer.lease!, items, sentAt, this.#closer.signal);
    } catch (error) {
      if (options.signal?.aborted && !this.#closer.signal.aborted) throw options.signal.reason;
      throw error;
    }
  }

  /** How many items wait in the queue (Dask's qsize). */
  async qsize(): Promise<number> {
    return (await this.info()).size;
  }

  /** The queue's size and maxsize; a queue nobody has put to is empty and unbounded. */
  async info(): Promise<QueueInfo> {
    await this.#configured;
    try {
      return await call(this.client, this.#closer.signal, ROUTES.queueInfo, { params: { name: this.name } });
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'SLUICE_ERR_UNKNOWN_QUEUE') return { name: this.name, size: 0, maxsize: null, getters: 0, putters: 0, leased: 0 };
      throw error;
    }
  }

  /** Delete the queue and its items; their futures are let go. */
  async delete(): Promise<void> {
    await this.#lastPut;
    await call(this.client, this.#closer.signal, ROUTES.queueDelete, { params: { name: this.name } });
  }

  /** Stop this object's waiting calls; a get in progress gives its item back to the queue. */
  close(): void {
    this.#closer.abort(closedError());
  }

  /**
   * Take items one by one, as they come, for as long as the queue is used
   * (until the loop breaks, or the object or client is closed). Items are
   * not read ahead: one this consumer has not asked for stays free for others.
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: async () => {
        try {
          const [item] = await this.getBatch(1);
          return { done: false, value: item };
        } catch (error) {
          if (this.#closer.signal.aborted || this.client.closed) return { done: true, value: undefined };
          throw error;
        }
      },
      return: async () => ({ done: true, value: undefined }),
    };
  }
}
