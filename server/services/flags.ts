import { EventEmitter } from 'node:events';
import { errors } from '../errors.ts';
import type { Lifecycle } from '../lifecycle.ts';
import type { CommitPoint } from '../storage/ports.ts';
import type { FlagStore } from '../storage/sqlite/flag-store.ts';
import { WaitLine, type WaitOptions, type WaitingCalls } from './wait-line.ts';

/** Events about flags, for the firehose and the metrics; emitted only when the state changes. */
export interface FlagEvents {
  'flag:set': [name: string];
  'flag:cleared': [name: string];
}

/**
 * Flags: Dask's Event (set, clear, wait), durable. Served under /flags
 * because /events is the dashboard's stream. A flag that was never set is
 * simply clear. Setting it wakes every waiter, once the set is committed.
 */
export class Flags {
  readonly events = new EventEmitter<FlagEvents>();
  readonly #lifecycle: Lifecycle;
  /** Callers waiting at once, across every kind of wait (--max-waiting-calls). */
  readonly #calls: WaitingCalls;
  readonly #store: FlagStore;
  readonly #commits: CommitPoint;
  /** How many flags are set; which ones, only the store knows (a flag per job must not cost memory for ever). */
  #setCount = 0;
  readonly #waiting = new Map<string, WaitLine<void>>();

  constructor(lifecycle: Lifecycle, calls: WaitingCalls, commits: CommitPoint, store: FlagStore) {
    this.#lifecycle = lifecycle;
    this.#calls = calls;
    this.#commits = commits;
    this.#store = store;
  }

  start(): void {
    this.#setCount = this.#store.count();
  }

  drain(): void {
    for (const line of this.#waiting.values()) line.rejectAll(errors.shuttingDown());
  }

  isSet(name: string): boolean {
    return this.#store.isSet(name);
  }

  /** How many flags are set. */
  get setCount(): number {
    return this.#setCount;
  }

  /** Up to `limit` of the flags that are set, in name order. */
  setNames(limit: number): string[] {
    return this.#store.names(limit);
  }

  set(name: string): void {
    this.#lifecycle.assertOpen();
    if (!this.#store.set(name, Date.now())) return;
    this.#setCount++;
    this.events.emit('flag:set', name);
    const line = this.#waiting.get(name);
    // As in asyncio.Event, everyone waiting when it is set wakes, even if it is cleared right after.
    if (line) this.#commits.afterCommit(() => {
      for (const waiter of [...line]) waiter.resolve();
    });
  }

  clear(name: string): void {
    this.#lifecycle.assertOpen();
    if (!this.#store.clear(name)) return;
    this.#setCount--;
    this.events.emit('flag:cleared', name);
  }

  /** Resolves once the flag is set (at once if it is); 408 after timeoutMs. */
  async wait(name: string, options: WaitOptions): Promise<void> {
    if (this.#store.isSet(name)) return;
    this.#lifecycle.assertOpen();
    let line = this.#waiting.get(name);
    if (!line) this.#waiting.set(name, (line = new WaitLine(this.#calls)));
    try {
      await line.wait(undefined, options);
    } finally {
      if (line.size === 0 && this.#waiting.get(name) === line) this.#waiting.delete(name);
    }
  }
}
