import type { FutureStatus } from '../schemas/common.ts';
import type { OutcomeUpdate } from '../schemas/tasks.ts';
import { CancelledError, LostError, TaskError, TimeoutError } from './errors.ts';
import { kAttach, kCancel, kDetach, kSubmission, kValue } from './symbols.ts';

/** What a status event or a hold answer says about a key. */
export type OutcomeMessage = OutcomeUpdate;

/**
 * What a client knows about one key, shared by every Future object for it.
 * `refs` counts the live Future objects; at zero the client releases the key.
 */
export class FutureState {
  readonly key: string;
  status: FutureStatus = 'pending';
  /** The result, once known (a large one is fetched on demand). */
  value: unknown = undefined;
  hasValue = false;
  /** Why it did not finish: TaskError, CancelledError, LostError, or a SluiceError if it was never accepted. */
  error: Error | undefined;
  refs = 0;
  #waiters: Array<() => void> = [];
  /** This client's submissions of the key not answered yet. */
  #unanswered = 0;
  /** Resolves when they are; made only when someone asks (submitting is a hot path). */
  #answered: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(key: string) {
    this.key = key;
  }

  get done(): boolean {
    return this.status !== 'pending';
  }

  /** A submission of the key is queued to be sent. */
  submitting(): void {
    this.#unanswered++;
  }

  /** The scheduler answered a submission (accepted or refused). */
  submitted(): void {
    if (this.#unanswered > 0 && --this.#unanswered === 0) this.#allAnswered();
  }

  /** Resolves once every submission of the key by this client is answered; undefined if none is outstanding. */
  get submission(): Promise<void> | undefined {
    if (this.#unanswered === 0) return undefined;
    if (!this.#answered) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#answered = { promise, resolve };
    }
    return this.#answered.promise;
  }

  #allAnswered(): void {
    this.#unanswered = 0;
    this.#answered?.resolve();
    this.#answered = undefined;
  }

  /** Apply an outcome from the scheduler; the first terminal one wins. */
  settle(message: OutcomeMessage): void {
    if (this.done || message.status === 'pending') return;
    if (message.status === 'finished') {
      if (!message.resultOmitted) {
        this.value = message.result;
        this.hasValue = true;
      }
    } else if (message.status === 'error') {
      this.error = new TaskError(this.key, message.error ?? { name: 'Error', message: 'unknown error', traceback: '' });
    } else if (message.status === 'cancelled') {
      this.error = new CancelledError(this.key, message.error?.message);
    } else {
      this.error = new LostError(this.key, message.error?.message);
    }
    this.status = message.status;
    this.#wake();
  }

  /** The client could not get the task accepted (bad input, unknown dependency, closed client). */
  fail(error: Error): void {
    // A future that failed on this side will not be submitted any more.
    this.#allAnswered();
    if (this.done) return;
    this.error = error;
    this.status = 'error';
    this.#wake();
  }

  /** Resolves when done; rejects with TimeoutError after timeoutMs. */
  whenDone(timeoutMs?: number): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = (): void => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      this.#waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new TimeoutError(`future ${this.key} did not end within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}

/** The part of Client a Future talks to. */
export interface FutureOwner {
  [kAttach](future: Future): FutureState;
  [kDetach](future: Future): void;
  [kValue](state: FutureState): Promise<unknown>;
  [kCancel](key: string): Promise<FutureStatus>;
}

/**
 * A local proxy for a task's result on the cluster (Dask's Future). While a
 * Future object is alive its client holds the key, so the result is kept;
 * `release()` (or garbage collection) lets go.
 *
 * A Future is awaitable: `await future` is `await future.result()`. As an
 * argument of another task it stands for its result (it serialises as
 * {"$future": key}).
 */
export class Future<T = unknown> implements PromiseLike<T> {
  readonly key: string;
  readonly client: FutureOwner;
  readonly #state: FutureState;
  #released = false;

  /** A Future for a known key: the client holds it from now on. */
  constructor(key: string, client: FutureOwner) {
    this.key = key;
    this.client = client;
    this.#state = client[kAttach](this as Future);
  }

  /** 'pending' | 'finished' | 'error' | 'cancelled' | 'lost' */
  get status(): FutureStatus {
    return this.#state.status;
  }

  done(): boolean {
    return this.#state.done;
  }

  /** The result; rejects with the task's error (TaskError, CancelledError, LostError) or TimeoutError. */
  async result(options: { timeoutMs?: number } = {}): Promise<T> {
    await this.#state.whenDone(options.timeoutMs);
    return (await this.client[kValue](this.#state)) as T;
  }

  /** The error the task ended with, or null if it finished. */
  async exception(options: { timeoutMs?: number } = {}): Promise<Error | null> {
    await this.#state.whenDone(options.timeoutMs);
    return this.#state.error ?? null;
  }

  /** The stack of the error on the worker, or null. */
  async traceback(options: { timeoutMs?: number } = {}): Promise<string | null> {
    const error = await this.exception(options);
    return error instanceof TaskError ? error.traceback : null;
  }

  /** Cancel the task (and what depends on it). Resolves with the status it ended with. */
  cancel(): Promise<FutureStatus> {
    return this.client[kCancel](this.key);
  }

  /** Let go of the key. A pending task nobody holds is cancelled; a result nobody holds is forgotten after the retention period. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.client[kDetach](this as Future);
  }

  /**
   * Resolves once the client that made this future has had its submission
   * answered by the scheduler; undefined if nothing is outstanding. Another
   * client waits for it before it refers to the key (an append).
   */
  [kSubmission](): Promise<void> | undefined {
    return this.#state.submission;
  }

  /** Call fn(this) once the future is done (at once, asynchronously, if it is). */
  addDoneCallback(fn: (future: Future<T>) => void): void {
    void this.#state.whenDone().then(() => fn(this));
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.result().then(onFulfilled, onRejected);
  }

  toJSON(): { $future: string } {
    return { $future: this.key };
  }

  toString(): string {
    return `<Future: status: ${this.status}, key: ${this.key}>`;
  }
}
