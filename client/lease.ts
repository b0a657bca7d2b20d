import type { Lease as LeaseAnswer, LeasesInfo } from '../schemas/leases.ts';
import { randomId } from '../schemas/keys.ts';
import { ROUTES } from '../schemas/routes.ts';
import { call, closedError, waitFor } from './calls.ts';
import type { Client } from './client.ts';
import { errors, SluiceError } from './errors.ts';
import { kRequest, kSession } from './symbols.ts';

export interface AcquireOptions {
  /** Give up after this long with a TimeoutError (default: wait as long as it takes; 0: do not wait). */
  timeoutMs?: number;
  /** The lease lapses unless renewed within this long; the client renews it every third of it. Default 30 s. */
  ttlMs?: number;
  /** Who holds it, shown by GET /locks/:name (default: the client's id). */
  holder?: string;
}

const DEFAULT_TTL_MS = 30_000;

type Kind = 'lock' | 'semaphore';

/** Each kind's routes. */
const ROUTES_OF = {
  lock: { info: ROUTES.lockInfo, acquire: ROUTES.lockAcquire, renew: ROUTES.lockRenew, release: ROUTES.lockRelease },
  semaphore: { info: ROUTES.semaphoreInfo, acquire: ROUTES.semaphoreAcquire, renew: ROUTES.semaphoreRenew, release: ROUTES.semaphoreRelease },
} as const;

/**
 * A lease on a lock or semaphore, renewed in the background every ttl/3 for
 * as long as it is held.
 *
 * `signal` aborts when the lease is lost: the scheduler refused a renewal
 * (it lapsed, say after the client was cut off for longer than the ttl), or
 * no renewal succeeded within ttl of being sent. The second rule fires no
 * later than the scheduler can let anybody else in, whatever the clocks say:
 * the scheduler counts the ttl from when it received the renewal, which was
 * after it was sent. A holder that checks `signal` (or `held`) before each
 * step stops in time, short of a pause between the check and the step (a
 * long GC, a stalled machine); for that, pass `fence` with writes to
 * sluice's variables, or `token` to any resource that remembers the highest
 * token it has seen, and a late holder's writes are refused.
 */
export class Lease {
  readonly kind: Kind;
  readonly name: string;
  readonly leaseId: string;
  /** The fencing token: higher than any given before for this lock or semaphore. */
  readonly token: number;
  readonly ttlMs: number;
  readonly #client: Client;
  readonly #lost = new AbortController();
  readonly #closer: AbortSignal;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #released = false;
  #onEnd: () => void;

  /** @internal Made by Lock and Semaphore. */
  constructor(client: Client, kind: Kind, answer: LeaseAnswer, sentAt: number, closer: AbortSignal, onEnd: () => void) {
    this.#client = client;
    this.kind = kind;
    this.name = answer.name;
    this.leaseId = answer.leaseId;
    this.token = answer.token;
    this.ttlMs = answer.ttlMs;
    this.#closer = closer;
    this.#onEnd = onEnd;
    this.#extendUntil(sentAt + this.ttlMs);
    this.#schedule(this.ttlMs / 3);
  }

  /** Aborts when the lease is lost (see the class note); its reason says why. */
  get signal(): AbortSignal {
    return this.#lost.signal;
  }

  /** Held, as far as this client can tell: not released, not lost. */
  get held(): boolean {
    return !this.#released && !this.#lost.signal.aborted;
  }

  /** For `variable.set(value, { fence: lease })`, or a body of your own: the write counts only while this lease is held. */
  get fence(): { lock: string; token: number } | { semaphore: string; token: number } {
    return this.kind === 'lock' ? { lock: this.name, token: this.token } : { semaphore: this.name, token: this.token };
  }

  /**
   * Let go. Rejects with SLUICE_ERR_LEASE_EXPIRED if the lease was lost, or
   * the scheduler no longer held it: whatever was done under it may not have
   * been exclusive.
   */
  async release(): Promise<void> {
    if (this.#lost.signal.aborted) throw this.#lost.signal.reason;
    if (this.#released) return;
    this.#released = true;
    this.#stop();
    this.#onEnd();
    try {
      await call(this.#client, this.#closer, ROUTES_OF[this.kind].release, { params: { name: this.name }, body: { leaseId: this.leaseId } });
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'SLUICE_ERR_LEASE_EXPIRED') this.#lose(error);
      throw error;
    }
  }

  /** Stop renewing without telling the scheduler (the client is closing; the session's end releases it). */
  abandon(): void {
    this.#released = true;
    this.#stop();
  }

  #schedule(delayMs: number): void {
    this.#renewTimer = setTimeout(() => void this.#renew(), delayMs);
    unref(this.#renewTimer);
  }

  async #renew(): Promise<void> {
    if (!this.held) return;
    const sentAt = Date.now();
    try {
      // One attempt, not the client's retries: a failure is retried soon, by the next renewal.
      await this.#client[kRequest](ROUTES_OF[this.kind].renew, { params: { name: this.name }, body: { leaseId: this.leaseId } });
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'SLUICE_ERR_LEASE_EXPIRED') {
        this.#lose(error);
        return;
      }
      if (this.held) this.#schedule(Math.min(this.ttlMs / 10, 1_000));
      return;
    }
    if (!this.held) return;
    this.#extendUntil(sentAt + this.ttlMs);
    this.#schedule(this.ttlMs / 3);
  }

  #extendUntil(deadline: number): void {
    if (this.#deadlineTimer) clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => this.#lose(errors.leaseLost(this.kind, this.name, this.ttlMs)),
      Math.max(0, deadline - Date.now()),
    );
    unref(this.#deadlineTimer);
  }

  #lose(reason: SluiceError): void {
    this.#stop();
    if (!this.#lost.signal.aborted) this.#lost.abort(reason);
    if (!this.#released) {
      this.#released = true;
      this.#onEnd();
      // If the scheduler still holds it after all, let the next in line have it.
      void call(this.#client, this.#closer, ROUTES_OF[this.kind].release, { params: { name: this.name }, body: { leaseId: this.leaseId } }).catch(() => undefined);
    }
  }

  #stop(): void {
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#deadlineTimer);
  }
}

/** What Lock and Semaphore share: acquiring leases, and the leases this object holds. */
abstract class LeaseHolder {
  readonly name: string;
  readonly client: Client;
  protected abstract readonly kind: Kind;
  protected readonly closer = new AbortController();
  protected readonly leases: Lease[] = [];

  constructor(client: Client, name: string) {
    this.client = client;
    this.name = name;
  }

  protected async acquireLease(extra: { maxLeases?: number }, options: AcquireOptions): Promise<Lease> {
    const ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    // The lease id is chosen here, so that an acquire retried after a lost answer finds its lease.
    const body = { ...extra, leaseId: randomId(), ttlMs, holder: options.holder ?? `client ${await this.client[kSession]()}` };
    let sentAt = 0;
    const answer = await waitFor(
      (timeoutS) => {
        sentAt = Date.now();
        return call(this.client, this.closer.signal, ROUTES_OF[this.kind].acquire, { params: { name: this.name }, query: { timeout: timeoutS }, body });
      },
      // Short chunks keep the answer of the last one close to its sending, from which the lease's deadline is counted.
      { timeoutMs: options.timeoutMs, chunkMs: Math.min(ttlMs / 3, 20_000), failure: `${this.kind} ${this.name} was not acquired` },
    );
    const lease = new Lease(this.client, this.kind, answer, sentAt, this.closer.signal, () => {
      const i = this.leases.indexOf(lease);
      if (i >= 0) this.leases.splice(i, 1);
    });
    this.leases.push(lease);
    return lease;
  }

  /** Release the oldest lease this object holds. */
  async release(): Promise<void> {
    const lease = this.leases[0];
    if (!lease) throw errors.noLeaseHeld(this.kind, this.name);
    await lease.release();
  }

  /** Acquire, run fn, release, even if fn throws. If the lease was lost meanwhile, rejects with SLUICE_ERR_LEASE_EXPIRED. */
  async runExclusive<R>(fn: (lease: Lease) => R | Promise<R>, options: AcquireOptions = {}): Promise<R> {
    const lease = await this.acquire(options);
    let result: R;
    try {
      result = await fn(lease);
    } catch (error) {
      await lease.release().catch(() => undefined);
      throw error;
    }
    await lease.release();
    return result;
  }

  abstract acquire(options?: AcquireOptions): Promise<Lease>;

  /** Who holds it now, and how many wait. */
  async info(): Promise<LeasesInfo> {
    return call(this.client, this.closer.signal, ROUTES_OF[this.kind].info, { params: { name: this.name } });
  }

  /** Stop renewing this object's leases and end its waiting calls. The client session's end releases them on the scheduler. */
  close(): void {
    for (const lease of [...this.leases]) lease.abandon();
    this.leases.length = 0;
    this.closer.abort(closedError());
  }
}

/**
 * A lock on the scheduler (Dask's Lock), with leases: a holder that dies
 * lets go when its lease lapses (ttlMs after its last renewal), or at once if
 * its client closes. One object holds at most one lease.
 */
export class Lock extends LeaseHolder {
  protected readonly kind = 'lock';

  /** Acquire the lock, waiting in line. Rejects with TimeoutError after timeoutMs. */
  async acquire(options: AcquireOptions = {}): Promise<Lease> {
    if (this.leases.length > 0) throw errors.lockAlreadyHeld(this.name);
    return this.acquireLease({}, options);
  }

  /** Whether anybody holds the lock now. */
  async locked(): Promise<boolean> {
    return (await this.info()).leases.length > 0;
  }
}

/**
 * A semaphore on the scheduler (Dask's Semaphore): up to maxLeases leases at
 * once, across every client. Leases lapse as a Lock's do. One object may hold
 * several; `release()` lets go of its oldest.
 */
export class Semaphore extends LeaseHolder {
  protected readonly kind = 'semaphore';
  readonly maxLeases: number;

  constructor(client: Client, name: string, maxLeases: number) {
    super(client, name);
    this.maxLeases = maxLeases;
  }

  /** Acquire a lease, waiting in line. Rejects with TimeoutError after timeoutMs, and with SLUICE_ERR_MAX_LEASES_CONFLICT if the semaphore exists with another maxLeases. */
  async acquire(options: AcquireOptions = {}): Promise<Lease> {
    return this.acquireLease({ maxLeases: this.maxLeases }, options);
  }
}

/** In Node, renewal timers do not keep the process alive by themselves. */
function unref(timer: ReturnType<typeof setTimeout>): void {
  (timer as { unref?: () => void }).unref?.();
}
