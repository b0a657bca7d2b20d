// Helpers for the stream tests: bounded waits, a settable promise, an in-memory queue.
import type { LeasedItems, QueueLike } from '../../stream/index.ts';

export { within } from './processes.ts';


/** A promise with its resolve and reject. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Whether a promise has settled yet (after letting pending reactions run). */
export async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  return done;
}

/**
 * A FIFO queue in memory with Dask's get semantics (wait while empty), to
 * stand in for sluice's queues (built elsewhere) behind the QueueLike
 * interface fromQueue reads.
 */
export class MemoryQueue<T> implements QueueLike<T> {
  readonly #items: T[] = [];
  readonly #getters: Array<{ resolve: (item: T) => void; reject: (error: unknown) => void }> = [];
  /** get() calls given up because their signal aborted. */
  abandoned = 0;

  put(item: T): void {
    const getter = this.#getters.shift();
    if (getter) getter.resolve(item);
    else this.#items.push(item);
  }

  get size(): number {
    return this.#items.length;
  }

  get(options: { signal?: AbortSignal } = {}): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift() as T);
    return new Promise<T>((resolve, reject) => {
      const getter = { resolve, reject };
      this.#getters.push(getter);
      options.signal?.addEventListener(
        'abort',
        () => {
          const i = this.#getters.indexOf(getter);
          if (i >= 0) {
            this.#getters.splice(i, 1);
            this.abandoned++;
            reject(options.signal?.reason);
          }
        },
        { once: true },
      );
    });
  }
}

/**
 * A MemoryQueue whose items can be leased, as sluice's queues lease them
 * (`queue.lease()`): a leased item is out of line until acknowledged, and
 * goes back in line when released.
 */
export class LeasingMemoryQueue<T> extends MemoryQueue<T> {
  readonly name = 'memory';
  readonly acked: T[] = [];
  readonly released: T[] = [];
  #next = 1;
  readonly #leased = new Map<number, T>();

  get leased(): number {
    return this.#leased.size;
  }

  async lease(options: { signal?: AbortSignal } = {}): Promise<LeasedItems<T>> {
    const item = await this.get(options);
    const id = this.#next++;
    this.#leased.set(id, item);
    const take = (ids: readonly number[] | undefined): T[] =>
      (ids ?? [id]).map((i) => {
        const x = this.#leased.get(i);
        if (x === undefined) throw Object.assign(new Error(`lease on ${i} expired`), { code: 'SLUICE_ERR_LEASE_EXPIRED' });
        this.#leased.delete(i);
        return x;
      });
    return {
      items: [item],
      ids: [id],
      ack: async (ids) => void this.acked.push(...take(ids)),
      release: async (ids) => {
        for (const x of take(ids)) {
          this.released.push(x);
          this.put(x);
        }
      },
    };
  }
}
