/**
 * Per-item metadata and reference counting (streamz's `metadata=` and
 * RefCounter): how a source learns when every branch downstream is done
 * with an item, so that it can acknowledge it (commit a channel position,
 * ack a queue item) only then.
 *
 * An item may carry a list of metadata records. The list travels with the
 * item through every operator: a map's result carries its input's list, a
 * window, zip or combineLatest carries the lists of all the items it is made
 * of, flatten gives each element its list's list. A record's `ref` (a
 * RefCounter) counts the places that hold the item: the emit that fed it,
 * until every branch has taken it, and every operator that keeps it past
 * that (buffer, delay, windows, zip, latest, mapAsync, scatter batches).
 * When the count drops back to zero, the item is done; if a step failed on
 * it on the way (an error that was not skipped), the counter says so.
 */
export interface Metadata {
  /** Counts the places that hold the item; done at zero. */
  ref?: RefCounter;
  readonly [key: string]: unknown;
}

/** The metadata list an item carries, or undefined (most items: it costs them nothing). */
export type Meta = readonly Metadata[] | undefined;

export interface RefCounterOptions {
  /** The count to start from. Default 0. */
  initial?: number;
  /**
   * Called when the count drops to zero or below (in a microtask, after the
   * release that did it): the item is done. `ref.failed` says whether a step
   * failed on it.
   */
  onDone?: (ref: RefCounter) => void;
}

/** streamz's RefCounter: how many places hold an item; a callback when none does any more. */
export class RefCounter {
  count: number;
  /** A step failed on the item (and the failure was not skipped), or the pipeline was cancelled while holding it. */
  failed = false;
  /** The first such failure. */
  error: unknown;
  readonly #onDone: ((ref: RefCounter) => void) | undefined;

  constructor(options: RefCounterOptions = {}) {
    this.count = options.initial ?? 0;
    this.#onDone = options.onDone;
  }

  retain(n = 1): void {
    this.count += n;
  }

  release(n = 1): void {
    this.count -= n;
    const onDone = this.#onDone;
    if (this.count <= 0 && onDone) queueMicrotask(() => onDone(this));
  }

  /** Record a failure on the item (the first one is kept); the count is unchanged. */
  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
  }

  toString(): string {
    return `<RefCounter count=${this.count}>`;
  }
}

export function retainMeta(meta: Meta, n = 1): void {
  if (meta) for (const m of meta) m.ref?.retain(n);
}

export function releaseMeta(meta: Meta): void {
  if (meta) for (const m of meta) m.ref?.release();
}

/** Release, recording that a step failed on the item. */
export function failMeta(meta: Meta, error: unknown): void {
  if (!meta) return;
  for (const m of meta) m.ref?.fail(error);
  releaseMeta(meta);
}

/** Hold meta until `result` settles: released then, or failed with its error (which is rethrown). */
export function holdUntil(result: Promise<void>, meta: Meta): Promise<void> {
  return result.then(
    () => releaseMeta(meta),
    (error: unknown) => {
      failMeta(meta, error);
      throw error;
    },
  );
}

/** The lists of several items as one (a window's, a zip's); undefined if none has any. */
export function concatMeta(metas: readonly Meta[]): Meta {
  let out: Metadata[] | undefined;
  for (const meta of metas) if (meta && meta.length > 0) (out ??= []).push(...meta);
  return out;
}

/** An item and its metadata, as operators that hold items keep them. */
export interface Held {
  readonly x: unknown;
  readonly meta: Meta;
}
