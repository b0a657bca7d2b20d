import { Client } from './client.ts';
import { TimeoutError } from './errors.ts';
import type { Future } from './future.ts';

/**
 * Iterate over futures as they end (finished or not), in the order they end
 * (Dask's as_completed). A hand-written iterator, not an async generator: a
 * generator would await each yielded Future, since Futures are thenables, and
 * yield results instead of futures.
 */
export function asCompleted<T>(futures: Iterable<Future<T>>): AsyncIterableIterator<Future<T>> {
  const ended: Array<Future<T>> = [];
  let remaining = 0;
  let wake: (() => void) | undefined;
  for (const future of new Set(futures)) {
    remaining++;
    future.addDoneCallback((f) => {
      ended.push(f);
      wake?.();
    });
  }
  const iterator: AsyncIterableIterator<Future<T>> = {
    async next(): Promise<IteratorResult<Future<T>>> {
      if (remaining === 0) return { done: true, value: undefined };
      while (ended.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      remaining--;
      return { done: false, value: ended.shift() as Future<T> };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** 'ALL_COMPLETED' (default) or 'FIRST_COMPLETED'. */
  returnWhen?: 'ALL_COMPLETED' | 'FIRST_COMPLETED';
}

/** Wait until all (or the first) of the futures end; rejects with TimeoutError after timeoutMs. */
export async function wait<T>(futures: Iterable<Future<T>>, options: WaitOptions = {}): Promise<{ done: Set<Future<T>>; notDone: Set<Future<T>> }> {
  const all = [...futures];
  const done = new Set<Future<T>>();
  const enough = options.returnWhen === 'FIRST_COMPLETED' ? Math.min(1, all.length) : all.length;
  await new Promise<void>((resolve, reject) => {
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => reject(new TimeoutError(`${all.length - done.size} of ${all.length} futures did not end within ${options.timeoutMs} ms`)), options.timeoutMs);
    const check = (): void => {
      if (done.size >= enough) {
        if (timer) clearTimeout(timer);
        resolve();
      }
    };
    for (const future of all) {
      future.addDoneCallback((f) => {
        done.add(f);
        check();
      });
    }
    check();
  });
  return { done, notDone: new Set(all.filter((f) => !done.has(f))) };
}

/** Keep these tasks running, and their results for the retention period, even when nothing holds them. */
export function fireAndForget(futures: Future | Iterable<Future>): void {
  const list: Future[] = Symbol.iterator in (futures as object) ? [...(futures as Iterable<Future>)] : [futures as Future];
  for (const future of list) (future.client as Client).fireAndForget(future);
}
