// fromQueue with ack: items taken under a lease, acknowledged once processed.
import type { GraphContext } from '../context.ts';
import { abortable } from '../gate.ts';
import { RefCounter } from '../metadata.ts';
import type { ErrorOptions } from '../policy.ts';
import { LateErrors } from './late-errors.ts';
import { SourceNode } from './source.ts';

/** Items taken under a lease (a sluice QueueLease): acknowledged or given back by id. */
export interface LeasedItems<T> {
  readonly items: readonly T[];
  readonly ids: readonly number[];
  ack(ids?: readonly number[]): Promise<unknown>;
  release(ids?: readonly number[]): Promise<unknown>;
}

/** A queue that leases items (sluice's Queue, through `lease()`): what fromQueue reads with `ack`. */
export interface LeasingQueue<T> {
  readonly name?: string;
  lease(options: { signal?: AbortSignal; ttlMs?: number; batch?: number }): Promise<LeasedItems<T>>;
}

export interface AckOptions extends ErrorOptions {
  /**
   * Acknowledge each item only once the pipeline is done with it (every
   * branch finished with it); an item a step failed on (and did not skip)
   * goes back to the queue. Needs a queue with `lease()` (sluice's Queue).
   */
  ack?: boolean;
  /** With ack: the lease's ttl, in ms (default 30 s). Items of a consumer that dies go back to the queue at the latest this long after its last renewal. */
  ttlMs?: number;
}

const isLeaseExpired = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'SLUICE_ERR_LEASE_EXPIRED';

/**
 * Items leased from a queue one at a time (each after the previous one was
 * taken by the pipeline), each carrying metadata `{ ref, queue, id }`. When
 * the pipeline is done with an item, it is acknowledged and leaves the
 * queue; if a step failed on it, it is given back (to the front of the
 * line). Until then it stays in the queue under the lease, invisible to
 * other getters: if this process dies, the lease lapses (or its client
 * session ends) and the item goes back, so no item is lost. An item is
 * handled again only if it was done with but its ack had not been
 * acknowledged when the consumer died, or its lease lapsed first
 * (`expiredAcks` counts those).
 */
export class AckedQueueSource extends SourceNode {
  readonly #queue: LeasingQueue<unknown>;
  readonly #ttlMs: number | undefined;
  readonly #late: LateErrors;
  readonly #settling = new Set<Promise<void>>();
  /** Items acknowledged; given back after a failure; whose ack came after their lease had lapsed. */
  acked = 0;
  returned = 0;
  expiredAcks = 0;

  constructor(queue: LeasingQueue<unknown>, context: GraphContext | undefined, options: AckOptions = {}) {
    if (typeof queue.lease !== 'function') throw new TypeError('fromQueue with ack needs a queue that leases items (a sluice Queue: client.queue(name))');
    super('fromQueue', context, options);
    this.#queue = queue;
    this.#ttlMs = options.ttlMs;
    this.#late = new LateErrors(this.operator);
  }

  protected async produce(signal: AbortSignal): Promise<void> {
    for (;;) {
      const leasing = this.#queue.lease({ signal, ttlMs: this.#ttlMs, batch: 1 });
      let leased: LeasedItems<unknown>;
      try {
        leased = await abortable(leasing, signal);
      } catch (error) {
        if (signal.aborted) {
          // A lease granted in the instant the wait was given up: give its items back at once.
          void leasing.then((l) => l.release(), () => undefined).catch(() => undefined);
          return;
        }
        throw error;
      }
      for (const [i, item] of leased.items.entries()) {
        const id = leased.ids[i];
        const ref = new RefCounter({ onDone: (r) => this.#done(leased, id, r) });
        await this.deliver(item, [{ ref, queue: this.#queue.name, id }]);
      }
      if (signal.aborted) return;
    }
  }

  /** The pipeline is done with item `id`: ack it, or give it back if a step failed on it. */
  #done(leased: LeasedItems<unknown>, id: number, ref: RefCounter): void {
    if (ref.count > 0) return;
    const failed = ref.failed;
    const settling = (failed ? leased.release([id]) : leased.ack([id])).then(
      () => {
        if (failed) this.returned++;
        else this.acked++;
      },
      (error: unknown) => {
        if (isLeaseExpired(error)) this.expiredAcks++;
        else if (!this.context.cancelled) this.#late.add(error, `the ${failed ? 'release' : 'ack'} of queue item ${id}`);
      },
    );
    this.#settling.add(settling);
    void settling.finally(() => this.#settling.delete(settling));
  }

  /** After the pipeline has finished: every ack and release sent has been answered. */
  protected override async settle(): Promise<void> {
    while (this.#settling.size > 0) await Promise.all([...this.#settling]);
    const [first] = this.#late.takeAll();
    if (first) throw first;
  }
}
