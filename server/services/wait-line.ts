import { errors } from '../errors.ts';
import type { Presence } from '../http/reply-delivery.ts';

/** One caller in a line; `data` is what it asked for. */
export interface Waiter<T, D> {
  readonly data: D;
  /** Give the waiter its answer; it leaves the line. */
  resolve(value: T): void;
  /** Fail the waiter; it leaves the line. */
  reject(error: Error): void;
}

export interface WaitOptions {
  /** Give up after this long: the wait rejects with a 408. */
  timeoutMs: number;
  /** What is waited for, for the 408's message. */
  what: string;
  /** The caller: once gone, it leaves the line without taking anything. */
  presence?: Presence;
}

/**
 * How many callers wait at once, across every line and every kind of wait:
 * each holds a connection and what it asked with, so their number is
 * bounded (--max-waiting-calls). A call answered at once takes no place.
 */
export class WaitingCalls {
  readonly limit: number;
  #count = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Callers waiting now. */
  get count(): number {
    return this.#count;
  }

  /** Take n places, or throw 503 naming the limit. Answers what gives them back (once). */
  take(n = 1): () => void {
    if (this.#count + n > this.limit) {
      throw errors.tooManyWaiting(this.#count, this.limit);
    }
    this.#count += n;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#count -= n;
    };
  }
}

/**
 * A first-come, first-served line of callers waiting for something: an
 * item, a value, a lease. Whoever makes the thing available takes `first()`
 * and resolves it in the same turn, so a later caller cannot overtake one
 * that has waited longer. A waiter leaves the line when it is answered, when
 * its time is up, or when its caller goes away.
 */
export class WaitLine<T, D = void> {
  // A Set keeps insertion order and removes in O(1) from anywhere in the line.
  readonly #line = new Set<Waiter<T, D>>();
  readonly #calls: WaitingCalls;

  /** `calls`: the places every line shares; a waiter holds one. */
  constructor(calls: WaitingCalls) {
    this.#calls = calls;
  }

  get size(): number {
    return this.#line.size;
  }

  /** The waiter that has waited longest. */
  first(): Waiter<T, D> | undefined {
    return this.#line.values().next().value;
  }

  [Symbol.iterator](): IterableIterator<Waiter<T, D>> {
    return this.#line.values();
  }

  /** Join the line. A timeout of 0 or less rejects at once with a 408. */
  wait(data: D, options: WaitOptions): Promise<T> {
    if (options.timeoutMs <= 0) return Promise.reject(errors.timedOut(options.what, 0));
    if (options.presence?.gone) return Promise.reject(errors.callerGone());
    let giveBack: () => void;
    try {
      giveBack = this.#calls.take();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise<T>((resolve, reject) => {
      const leave = (): void => {
        giveBack();
        clearTimeout(timer);
        stopWatching?.();
        this.#line.delete(waiter);
      };
      const waiter: Waiter<T, D> = {
        data,
        resolve: (value) => {
          leave();
          resolve(value);
        },
        reject: (error) => {
          leave();
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.reject(errors.timedOut(options.what, options.timeoutMs / 1000)), options.timeoutMs);
      const stopWatching = options.presence?.onGone(() => waiter.reject(errors.callerGone()));
      this.#line.add(waiter);
    });
  }

  /** Fail everybody in the line (shutdown). */
  rejectAll(error: Error): void {
    for (const waiter of [...this.#line]) waiter.reject(error);
  }
}
