/** Small promise utilities the nodes share. */
import { disposeItem } from './item.ts';

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs tasks one at a time, in the order they were given (p-limit(1), but
 * synchronous when idle: a task that finishes without awaiting costs no
 * promise). A failed task rejects its own caller and does not stop the ones
 * queued after it.
 */
export class SerialGate {
  #busy = false;
  readonly #queue: Array<{ task: () => void | Promise<void>; item: unknown; resolve: () => void; reject: (error: unknown) => void }> = [];

  get busy(): boolean {
    return this.#busy;
  }

  /** Tasks waiting behind the running one. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Run task now if idle, else after the queued ones. `item` is the item the task is for: dropped on rejectAll. */
  run(task: () => void | Promise<void>, item?: unknown): void | Promise<void> {
    if (this.#busy) {
      return new Promise<void>((resolve, reject) => this.#queue.push({ task, item, resolve, reject }));
    }
    const result = task();
    if (!result) return;
    this.#busy = true;
    return result.then(
      () => this.#next(),
      (error: unknown) => {
        this.#next();
        throw error;
      },
    );
  }

  /** Reject every queued task and let go of its item (cancellation). */
  rejectAll(reason: unknown): void {
    for (const entry of this.#queue.splice(0)) {
      disposeItem(entry.item);
      entry.reject(reason);
    }
  }

  #next(): void {
    for (;;) {
      const entry = this.#queue.shift();
      if (!entry) {
        this.#busy = false;
        return;
      }
      let result: void | Promise<void>;
      try {
        result = entry.task();
      } catch (error) {
        entry.reject(error);
        continue;
      }
      if (!result) {
        entry.resolve();
        continue;
      }
      result.then(
        () => {
          entry.resolve();
          this.#next();
        },
        (error: unknown) => {
          entry.reject(error);
          this.#next();
        },
      );
      return;
    }
  }
}

/** Callers parked until something changes (room in a buffer, a window handed over...). */
export class Waiters {
  #list: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];

  /** Resolves at the next wakeAll(); rejects at rejectAll(). */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => this.#list.push({ resolve, reject }));
  }

  wakeAll(): void {
    const list = this.#list;
    this.#list = [];
    for (const w of list) w.resolve();
  }

  rejectAll(reason: unknown): void {
    const list = this.#list;
    this.#list = [];
    for (const w of list) w.reject(reason);
  }
}

/** The promise, or its rejection with signal.reason as soon as the signal aborts. */
export function abortable<T>(promise: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
