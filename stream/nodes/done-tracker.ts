import { RefCounter } from '../metadata.ts';

interface Entry<K> {
  readonly key: K;
  state: 'pending' | 'done' | 'failed';
}

/**
 * Where a source is durably: of the items it delivered, in order, the last
 * one such that it and every one before it are done with (their reference
 * counts back to zero, no step having failed on them). An item that failed
 * holds the mark before it. Channels use it for a consumer's position, SSE
 * for the Last-Event-ID to resume from.
 */
export class DoneTracker<K> {
  readonly #entries: Array<Entry<K>> = [];
  readonly #onAdvance: (key: K) => void;
  /** The last key done with, with everything before it. */
  last: K | undefined;

  constructor(onAdvance: (key: K) => void = () => undefined, initial?: K) {
    this.#onAdvance = onAdvance;
    this.last = initial;
  }

  /** A counter for the item with this key, delivered after every key tracked before. */
  track(key: K): RefCounter {
    const entry: Entry<K> = { key, state: 'pending' };
    this.#entries.push(entry);
    return new RefCounter({
      onDone: (ref) => {
        if (ref.count > 0 || entry.state !== 'pending') return;
        entry.state = ref.failed ? 'failed' : 'done';
        this.#advance();
      },
    });
  }

  #advance(): void {
    let moved = false;
    while (this.#entries.length > 0 && this.#entries[0].state === 'done') {
      this.last = (this.#entries.shift() as Entry<K>).key;
      moved = true;
    }
    if (moved) this.#onAdvance(this.last as K);
  }
}
