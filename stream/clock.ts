/**
 * Time, injected. Every time-based operator reads `now()` and waits with
 * `sleep()` of the clock its pipeline was given, so tests drive time with a
 * ManualClock instead of waiting for real (the way @sinonjs/fake-timers does
 * it, but passed in rather than patched over the globals, so nothing else in
 * the process is affected).
 */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences matter. */
  now(): number;
  /** Resolves after `ms` (at once when ms <= 0); rejects with `signal.reason` if the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Real time: performance.now() and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  sleep(ms, signal) {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

interface Timer {
  at: number;
  order: number;
  resolve: () => void;
}

/** Lets every pending promise reaction run: one macrotask turn drains the microtask queue. */
const turn = (): Promise<void> => new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * A clock that moves only when told to. `advance(ms)` fires the timers that
 * fall due, earliest first, and lets the pipeline react after each one before
 * firing the next, so a test sees exactly what real time would produce,
 * without waiting.
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: Timer[] = [];
  #order = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer: Timer = {
        at: this.#now + ms,
        order: this.#order++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#timers.push(timer);
    });
  }

  /** How many sleeps are waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the earliest pending sleep ends, or undefined. */
  get nextAt(): number | undefined {
    return this.#earliest()?.at;
  }

  /** Move time forward by ms, firing due timers in order and letting the pipeline react to each. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.#now + ms);
  }

  /** Move time forward to `at`. */
  async advanceTo(at: number): Promise<void> {
    await this.settle();
    for (;;) {
      const timer = this.#earliest();
      if (!timer || timer.at > at) break;
      this.#timers = this.#timers.filter((t) => t !== timer);
      this.#now = Math.max(this.#now, timer.at);
      timer.resolve();
      await this.settle();
    }
    this.#now = Math.max(this.#now, at);
    await this.settle();
  }

  /** Fire timers one after another until none is left (or `limit` fired); resolves with how many fired. */
  async runAll(limit = 10_000): Promise<number> {
    let fired = 0;
    await this.settle();
    while (this.#timers.length > 0 && fired < limit) {
      await this.advanceTo(this.#earliest()?.at ?? this.#now);
      fired++;
    }
    return fired;
  }

  /** Let pending promise reactions run without moving time. */
  async settle(): Promise<void> {
    await turn();
    await turn();
  }

  #earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.#timers) if (!best || t.at < best.at || (t.at === best.at && t.order < best.order)) best = t;
    return best;
  }
}
