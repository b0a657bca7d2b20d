import { errors } from '../../errors.ts';
import type { Db } from './database.ts';

/** Told the outcome of the commit it waits for: undefined when committed, else why it failed. */
type Waiter = (failure: Error | undefined) => void;

/**
 * Where a turn's writes go after SQLite has committed them, when SQLite is
 * not the store of record (a private copy of a PostgreSQL database): a
 * turn counts as committed only once its shipment has.
 */
export interface Shipper {
  /**
   * The turn's local commit is done: send its writes. Resolves once they are
   * durable where they were sent, in the order the turns were shipped;
   * undefined when nothing was shipped nor is on its way.
   */
  ship(): Promise<void> | undefined;
  /** The turn's transaction was rolled back: forget the writes it recorded. */
  discard(): void;
}

/**
 * Group commit over one SQLite connection: the first write of an event-loop
 * turn opens a transaction, every write of that turn joins it, and it commits
 * in setImmediate. Reads on the same connection see the turn's writes.
 * `committed()` resolves once what was written so far is durable; that is
 * when the scheduler acknowledges it. Every store writes through one of these.
 *
 * Reads join the turn's transaction too (`read()`): outside a transaction
 * each statement takes a WAL snapshot of its own, which costs more than the
 * lookup itself (about 3 µs against 2 µs here).
 *
 * A commit can fail (the disk is full, an I/O error), and so can a write in
 * the transaction (SQLite then rolls the whole transaction back). Either way
 * the transaction is gone, and the memory of the services that made its
 * writes no longer matches the disk. So the failure is final for this
 * connection's writer: the transaction is rolled back, whatever waited for
 * it is told the failure (committed() rejects with SLUICE_ERR_STORAGE, afterCommit callbacks are
 * dropped: nothing that was not stored is announced), `onFailure` hears it
 * once, and from then on nothing more is committed: later turns still get a
 * transaction (a statement outside one would commit on its own), which is
 * rolled back. Whoever owns the services rebuilds them from disk.
 */
export class GroupCommit {
  readonly #db: Db;
  readonly #begin;
  readonly #commit;
  readonly #rollback;
  readonly #onFailure: (error: Error) => void;
  #open = false;
  /** Something was written in the open transaction. */
  #dirty = false;
  #waiting: Waiter[] = [];
  readonly #shipper: Shipper | undefined;
  /** The waiters of the last turn shipped and not yet durable: what committed() waits for between turns. */
  #shipped: Waiter[] | undefined;
  /** The failure that ended this writer, as its waiters are told it (SLUICE_ERR_STORAGE). */
  #failed: Error | undefined;

  constructor(db: Db, onFailure: (error: Error) => void, shipper?: Shipper) {
    this.#db = db;
    this.#shipper = shipper;
    this.#begin = db.prepare('BEGIN');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
    this.#onFailure = onFailure;
  }

  /** The failure that ended this writer: once set, nothing it is given is committed. */
  get failed(): Error | undefined {
    return this.#failed;
  }

  /** Join (or open) this turn's transaction. Call before every write. */
  write(): void {
    // A write that failed made SQLite roll the transaction back; what follows
    // must not run outside one (each statement would commit on its own).
    if (this.#open && !this.#db.inTransaction) this.#fail(new Error('a write failed and SQLite rolled its transaction back'));
    this.read();
    this.#dirty = true;
  }

  /** Join (or open) this turn's transaction to read. Nothing waits on a read. */
  read(): void {
    if (this.#open) return;
    this.#begin.run();
    this.#open = true;
    setImmediate(this.commitNow);
  }

  /** Commit the open transaction now (roll it back once the writer has failed), then tell what waited for it. */
  readonly commitNow = (): void => {
    if (!this.#open) return;
    if (this.#failed) {
      this.#fail(this.#failed);
      return;
    }
    try {
      this.#commit.run();
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    this.#open = false;
    this.#dirty = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    const durable = this.#shipper?.ship();
    if (!durable) {
      for (const waiter of waiting) waiter(undefined);
      return;
    }
    this.#shipped = waiting;
    durable.then(
      () => {
        if (this.#shipped === waiting) this.#shipped = undefined;
        for (const waiter of waiting) waiter(undefined);
      },
      (error: unknown) => {
        if (this.#shipped === waiting) this.#shipped = undefined;
        this.#fail(error as Error, waiting);
      },
    );
  };

  /** Resolves when everything written so far is committed; rejects with the failure if that commit fails. */
  committed(): Promise<void> {
    const waiting = this.#dirty ? this.#waiting : this.#shipped;
    if (!waiting) return Promise.resolve();
    return new Promise((resolve, reject) => waiting.push((failure) => (failure ? reject(failure) : resolve())));
  }

  /** Run fn once everything written so far is committed (at once if nothing is pending); never if that commit fails. */
  afterCommit(fn: () => void): void {
    const waiting = this.#dirty ? this.#waiting : this.#shipped;
    if (waiting) waiting.push((failure) => failure === undefined && fn());
    else fn();
  }

  /** Roll the open transaction back, tell its waiters, and end this writer (once). */
  #fail(error: Error, shipped: Waiter[] = []): void {
    try {
      if (this.#db.inTransaction) this.#rollback.run();
    } catch {
      // SQLite may have rolled it back already; nothing else to undo.
    }
    this.#shipper?.discard();
    this.#open = false;
    this.#dirty = false;
    const waiting = [...shipped, ...this.#waiting];
    this.#waiting = [];
    const first = this.#failed === undefined;
    this.#failed ??= errors.storageFailed(error);
    for (const waiter of waiting) waiter(this.#failed);
    if (first) this.#onFailure(error);
  }
}
