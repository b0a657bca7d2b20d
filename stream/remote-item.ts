import type { Client } from '../client/client.ts';
import { Future } from '../client/future.ts';
import { kDispose, kShare, type Shareable } from './item.ts';

/** A future, or a list of them (a window or a zip of futures), as a task argument. */
export type Ref = Future | readonly Ref[];

/**
 * An item of a cluster stream: a reference to values on the scheduler. It is
 * boxed because a Future is a thenable, and anything that resolves a promise
 * with one would wait for its result instead of passing the future on.
 *
 * Ownership: whoever holds a RemoteItem holds its futures' keys on the
 * scheduler (each Future object is a hold). A node that passes it on passes
 * the hold; a node that is done with it (map has submitted the task that
 * depends on it, gather has the result, an error or a cancel dropped it)
 * disposes of it, which releases the keys. Branches get their own shares.
 */
export class RemoteItem implements Shareable {
  readonly ref: Ref;

  constructor(ref: Ref) {
    this.ref = ref;
  }

  /** One item whose ref is the list of these items' refs; their holds move into it. */
  static pack(items: readonly unknown[]): RemoteItem {
    return new RemoteItem(items.map((item) => (item as RemoteItem).ref));
  }

  /** The key, or the nested lists of keys, for messages and failures. */
  get keys(): unknown {
    return mapRef(this.ref, (f) => f.key);
  }

  /** The value: the future's result, or the list of results. Rejects with the task's error. */
  value(): Promise<unknown> {
    return resolve(this.ref);
  }

  [kShare](): RemoteItem {
    return new RemoteItem(mapRef(this.ref, (f) => new Future(f.key, f.client)) as Ref);
  }

  [kDispose](): void {
    mapRef(this.ref, releaseSoon);
  }
}

/**
 * Releases go out together, a few milliseconds late: the client sends runs of
 * the same command as one request, and a release after every submission
 * would cut its runs of submissions into single requests. Holding a key a
 * little longer costs nothing; releasing it early would.
 */
const RELEASE_BATCH = 256;
const RELEASE_DELAY_MS = 5;
let toRelease: Future[] = [];
let releaseTimer: ReturnType<typeof setTimeout> | undefined;

function releaseSoon(future: Future): void {
  toRelease.push(future);
  if (toRelease.length >= RELEASE_BATCH) releaseNow();
  else releaseTimer ??= setTimeout(releaseNow, RELEASE_DELAY_MS);
}

/** Release every future waiting to be released. */
export function releaseNow(): void {
  clearTimeout(releaseTimer);
  releaseTimer = undefined;
  const futures = toRelease;
  toRelease = [];
  for (const future of futures) future.release();
}

function mapRef(ref: Ref, fn: (future: Future) => unknown): unknown {
  return ref instanceof Future ? fn(ref) : ref.map((r) => mapRef(r, fn));
}

function resolve(ref: Ref): Promise<unknown> {
  return ref instanceof Future ? ref.result() : Promise.all(ref.map(resolve));
}

/** The client a cluster stream submits through: the one of the stream's first future, or the one it was made with. */
export type ClusterClient = Pick<Client, 'submit' | 'scatter' | 'channel'>;
