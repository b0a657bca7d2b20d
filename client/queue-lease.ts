import type { RouteReply } from '../schemas/http-api.ts';
import { ROUTES } from '../schemas/routes.ts';
import { call } from './calls.ts';
import type { Client } from './client.ts';
import { errors, SluiceError } from './errors.ts';
import { kRequest } from './symbols.ts';

/** The lease part of a get with ack's answer. */
export type LeaseAnswer = NonNullable<RouteReply<'queueGet'>['lease']>;

const END_ROUTES = { ack: ROUTES.queueLeaseAck, release: ROUTES.queueLeaseRelease } as const;

/**
 * Items taken from a queue under a lease (`queue.lease()`): they stay in the
 * queue, out of line, until acknowledged (`ack`: they leave it for good) or
 * given back (`release`: to the front of the line). The client renews the
 * lease every third of its ttl while items remain under it; if it cannot
 * (the process died, or was cut off for longer than the ttl), or the client
 * closes, the scheduler gives the items back by itself, and another getter
 * gets them: an item is removed only once someone said it was done with it.
 *
 * `signal` aborts when the lease is lost (a renewal refused, or none
 * succeeded within the ttl): acknowledging then fails with
 * SLUICE_ERR_LEASE_EXPIRED, and the items may be handled elsewhere too.
 */
export class QueueLease<T = unknown> {
  readonly queue: string;
  readonly id: string;
  readonly ttlMs: number;
  /** The items, oldest first. */
  readonly items: T[];
  /** Their ids, in the same order (for ack and release of some of them). */
  readonly ids: readonly number[];
  readonly #client: Client;
  readonly #closer: AbortSignal;
  readonly #held: Set<number>;
  readonly #lost = new AbortController();
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal Made by Queue.lease. */
  constructor(client: Client, queue: string, answer: LeaseAnswer, items: T[], sentAt: number, closer: AbortSignal) {
    this.#client = client;
    this.queue = queue;
    this.id = answer.id;
    this.ttlMs = answer.ttlMs;
    this.items = items;
    this.ids = answer.ids;
    this.#closer = closer;
    this.#held = new Set(answer.ids);
    this.#extendUntil(sentAt + this.ttlMs);
    this.#schedule(this.ttlMs / 3);
  }

  /** Aborts when the lease is lost (see the class note); its reason says why. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Items still under the lease, as far as this client knows. */
  get held(): number {
    return this.#lost.signal.aborted ? 0 : this.#held.size;
  }

  /** The items (default: all still held) are done with: they leave the queue. */
  async ack(ids?: readonly number[]): Promise<void> {
    await this.#end('ack', ids);
  }

  /** Give the items (default: all still held) back to the front of the line. */
  async release(ids?: readonly number[]): Promise<void> {
    await this.#end('release', ids);
  }

  /** Stop renewing without telling the scheduler (the lapse, or the session's end, gives the items back). */
  abandon(): void {
    this.#stop();
  }

  async #end(verb: 'ack' | 'release', ids: readonly number[] | undefined): Promise<void> {
    if (this.#lost.signal.aborted) throw this.#lost.signal.reason;
    const which = ids ?? [...this.#held];
    if (which.length === 0) return;
    for (const id of which) this.#held.delete(id);
    if (this.#held.size === 0) this.#stop();
    try {
      await call(this.#client, this.#closer, END_ROUTES[verb], { params: { name: this.queue }, body: ids === undefined ? { leaseId: this.id } : { leaseId: this.id, ids: [...ids] } });
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'SLUICE_ERR_LEASE_EXPIRED') this.#lose(error);
      throw error;
    }
  }

  #schedule(delayMs: number): void {
    this.#renewTimer = setTimeout(() => void this.#renew(), delayMs);
    unref(this.#renewTimer);
  }

  async #renew(): Promise<void> {
    if (this.held === 0) return;
    const sentAt = Date.now();
    try {
      // One attempt, not the client's retries: a failure is retried soon, by the next renewal.
      await this.#client[kRequest](ROUTES.queueLeaseRenew, { params: { name: this.queue }, body: { leaseId: this.id } });
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'SLUICE_ERR_LEASE_EXPIRED') {
        this.#lose(error);
        return;
      }
      if (error instanceof SluiceError && error.code === 'SLUICE_ERR_CLOSED') {
        this.#stop(); // the client closed: its session's end gives the items back
        return;
      }
      if (this.held > 0) this.#schedule(Math.min(this.ttlMs / 10, 1_000));
      return;
    }
    if (this.held === 0) return;
    this.#extendUntil(sentAt + this.ttlMs);
    this.#schedule(this.ttlMs / 3);
  }

  #extendUntil(deadline: number): void {
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#lose(errors.queueLeaseLost(this.id, this.queue, this.ttlMs)),
      Math.max(0, deadline - Date.now()),
    );
    unref(this.#deadlineTimer);
  }

  #lose(reason: SluiceError): void {
    this.#stop();
    if (!this.#lost.signal.aborted) this.#lost.abort(reason);
  }

  #stop(): void {
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#deadlineTimer);
  }
}

/** In Node, renewal timers do not keep the process alive by themselves. */
function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}
