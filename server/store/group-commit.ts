import type { Db } from './database.ts';

/**
 * Group commit over one SQLite connection: the first write of an event-loop
 * turn opens a transaction, every write of that turn joins it, and it commits
 * in setImmediate. Reads on the same connection see the turn's writes.
 * `committed()` resolves once what was written so far is durable; that is
 * when the scheduler acknowledges it. Every store writes through one of these.
 */
export class GroupCommit {
  readonly #begin;
  readonly #commit;
  readonly #onFatal: (error: Error) => void;
  #open = false;
  #after: Array<() => void> = [];

  constructor(db: Db, onFatal: (error: Error) => void) {
    this.#begin = db.prepare('BEGIN');
    this.#commit = db.prepare('COMMIT');
    this.#onFatal = onFatal;
  }

  /** Join (or open) this turn's transaction. Call before every write. */
  write(): void {
    if (this.#open) return;
    this.#begin.run();
    this.#open = true;
    setImmediate(this.commitNow);
  }

  /** Commit the open transaction now, then run what waited for it. */
  readonly commitNow = (): void => {
    if (!this.#open) return;
    try {
      this.#commit.run();
    } catch (error) {
      this.#onFatal(error as Error);
      return;
    }
    this.#open = false;
    const waiting = this.#after;
    this.#after = [];
    for (const fn of waiting) fn();
  };

  /** Resolves when everything written so far is committed. */
  committed(): Promise<void> {
    if (!this.#open) return Promise.resolve();
    return new Promise((resolve) => this.#after.push(resolve));
  }

  /** Run fn once everything written so far is committed (at once if nothing is pending). */
  afterCommit(fn: () => void): void {
    if (this.#open) this.#after.push(fn);
    else fn();
  }
}
