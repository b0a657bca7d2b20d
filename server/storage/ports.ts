/**
 * The storage port: what the services need of the place their state is
 * kept, whatever keeps it: a SQLite file (`sqlite/sqlite-storage.ts`), or
 * PostgreSQL (`postgres/postgres-storage.ts`, which answers reads from a
 * private SQLite copy and ships each turn's writes). It is shaped for a
 * store reached over a network:
 *
 * - **A turn, one transaction.** Every write made during one turn of the
 *   event loop belongs to one transaction, committed at the end of the turn
 *   (SQLite: the statements run at once inside the open transaction;
 *   a networked store records them during the turn and sends them at its
 *   end as one pipelined transaction). Nothing a service does waits for a
 *   write to be answered: writes return nothing.
 * - **The commit point.** `committed()` and `afterCommit()` are the only
 *   way to learn that a write is durable: a reply that acknowledges a write
 *   awaits `committed()`, and an announcement of it goes out from
 *   `afterCommit()`. Both are asynchronous on every store.
 * - **Held writes.** `holdingWrites` lets the scheduler send work to
 *   workers before the turn's writes are spent on; the writes keep their
 *   order and join the same commit.
 * - **Reads.** What the scheduler's one thread must decide synchronously
 *   (ordering, check-then-write) it decides from memory loaded at start; the
 *   reads that remain synchronous today are listed in docs/architecture.md
 *   ("What a PostgreSQL storage must answer synchronously, and how it would").
 */

/** When a write counts as done. Services that announce or acknowledge writes are given this. */
export interface CommitPoint {
  /** Resolves once everything written so far is durable; rejects with SLUICE_ERR_STORAGE if that commit fails. */
  committed(): Promise<void>;
  /** Run fn once everything written so far is durable (at once if nothing is pending); never if that commit fails. */
  afterCommit(fn: () => void): void;
}

/** The store as one object: its transactions, the commit point, held writes, its health and its end. */
export interface Storage extends CommitPoint {
  /** Where the store is (a path, or a URL without its credentials), for logs. */
  readonly location: string;
  /**
   * The failure that ended this store's writer (a commit that failed):
   * memory and disk disagree from then on, and nothing more is committed.
   * Whoever owns the services rebuilds them from the store.
   */
  readonly failed: Error | undefined;
  /**
   * Run fn with the turn's writes held back, then send(), then the writes in
   * the order they were made, joining the turn's commit. A read while writes
   * are held runs them first.
   */
  holdingWrites(fn: () => void, send: () => void): void;
  /**
   * Whether the store takes writes again after a failed commit: resolves
   * when a probe write was committed (and `roomBytes` are free where the
   * store keeps its files, when it has any); rejects saying why not.
   */
  probe(roomBytes: number): Promise<void>;
  /** Commit what is pending and let go of the store (files, connections). */
  close(): Promise<void>;
}
