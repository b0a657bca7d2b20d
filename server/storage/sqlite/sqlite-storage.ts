import type { FastifyBaseLogger } from 'fastify';
import type { Storage } from '../ports.ts';
import { BUSY_TIMEOUT_MS, type Db, type OpenOptions, openDatabase } from './database.ts';
import { freeBytes, walOutgrowsRoom } from './disk-room.ts';
import { GroupCommit, type Shipper } from './group-commit.ts';
import { isMemoryStore } from './store-lock.ts';

/** How often the room left beside the store is checked (a statfs and a stat: a few microseconds). */
const ROOM_CHECK_MS = 250;

export interface SqliteStorageOptions extends OpenOptions {
  /** Told once when a commit fails (see GroupCommit): the writer is ended from then on. */
  onFailure: (error: Error) => void;
  log?: FastifyBaseLogger;
  /**
   * When this SQLite file is a private copy of another store of record: the
   * stores prepare their statements on `capture(db)`, which records the
   * writes, and each turn's commit is committed only once the shipper has
   * made those writes durable there.
   */
  copyOf?: Shipper & { capture(db: Db): Db };
}

/**
 * The Storage port over one SQLite connection: it opens the file and applies
 * the migrations, owns the turn's transaction (GroupCommit), the held
 * writes, the commit point, the WAL's folding while room is short, the
 * probe after a failed commit, and the close. The stores of each table
 * family (tasks, channels, queues...) write through it: `write(fn)` runs fn
 * in the turn's transaction now, or holds it while `holdingWrites` runs;
 * `read()` joins the transaction (running held writes first, so that reads
 * see every write made before them).
 */
export class SqliteStorage implements Storage {
  /** The database the stores prepare their statements on. */
  readonly db: Db;
  /** The SQLite connection itself (for what is not a store's write: the WAL, the probe). */
  readonly sqlite: Db;
  /** The turn's transaction, for the stores that write at once (never held). */
  readonly tx: GroupCommit;
  readonly location: string;
  /** Writes held back by holdingWrites, in the order they were made; undefined when writes run at once. */
  #held: Array<() => void> | undefined;
  readonly #folding: NodeJS.Timeout | undefined;

  constructor(path: string, options: SqliteStorageOptions) {
    this.location = path;
    this.sqlite = openDatabase(path, { synchronous: options.synchronous });
    this.db = options.copyOf ? options.copyOf.capture(this.sqlite) : this.sqlite;
    this.tx = new GroupCommit(this.sqlite, options.onFailure, options.copyOf);
    if (!isMemoryStore(path)) {
      const log = options.log;
      this.#folding = setInterval(() => this.#foldIfShortOfRoom(log), ROOM_CHECK_MS);
      this.#folding.unref();
    }
  }

  get failed(): Error | undefined {
    return this.tx.failed;
  }

  /** Resolves when everything written so far (held writes included) is committed. */
  committed(): Promise<void> {
    this.#joinHeld();
    return this.tx.committed();
  }

  /** Run fn once everything written so far (held writes included) is committed. */
  afterCommit(fn: () => void): void {
    this.#joinHeld();
    this.tx.afterCommit(fn);
  }

  // ── held writes ──────────────────────────────────────────────────────

  /** Whether writes are held back now (holdingWrites is running). */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  /**
   * Run fn with the writes made through `write` held back, then send(), then
   * the writes in the order they were made. The scheduler uses it to send a
   * worker what a report or a submission made ready before it spends time in
   * SQLite: nothing is acknowledged before the turn's commit either way, and
   * the writes still join that commit. A read while writes are held runs them
   * first, so reads see every write made before them.
   */
  holdingWrites(fn: () => void, send: () => void): void {
    if (this.#held) {
      fn();
      return;
    }
    this.#held = [];
    try {
      fn();
      send();
    } finally {
      this.#runHeld();
    }
  }

  /** Run a write in the turn's transaction now, or hold it (its arguments are taken when it is made, not when it runs). */
  write(write: () => void): void {
    if (this.#held) {
      this.#held.push(write);
      return;
    }
    this.tx.write();
    write();
  }

  /** Join the turn's transaction to read, after running the writes held so far. */
  read(): void {
    if (this.#held) this.#runHeld();
    this.tx.read();
  }

  /**
   * Held writes count as written: open the turn's transaction for them now,
   * so that what waits for the commit waits for the one they will join (an
   * announcement must not go out before the outcome it announces is durable).
   */
  #joinHeld(): void {
    if (this.#held && this.#held.length > 0) this.tx.write();
  }

  #runHeld(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    if (held.length === 0) return;
    this.tx.write();
    for (const write of held) write();
  }

  // ── the files ──────────────────────────────────────────────────────────

  /**
   * Fold the WAL into the database file and truncate it (a checkpoint), so
   * that the disk has the WAL's room back. It does not wait: while another
   * connection reads an older state of the store, what that reader may need
   * stays in the WAL, and this answers false. Throws when the database file
   * cannot grow to take the pages (the disk is full) or the disk fails.
   */
  foldWal(): boolean {
    this.tx.commitNow();
    this.sqlite.pragma('busy_timeout = 0');
    try {
      const [result] = this.sqlite.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
      return result?.busy === 0;
    } finally {
      this.sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /**
   * Whether the store takes writes again, after a failed commit. Rejects if
   * not, saying why. In order:
   * - end the turn's transaction (committed, or rolled back once this
   *   writer has failed: the probe asks about the disk, whatever became of
   *   the writer);
   * - fold the WAL into the database file: on a disk that filled up, the
   *   WAL may hold most of the room there is to win back, and a store whose
   *   WAL cannot be folded would fill again at once;
   * - `roomBytes` must be free on the disk, so that the writes let in
   *   after the probe have room too (asked of the file system: a probe that
   *   wrote that much would leave it in the WAL until the next fold);
   * - then a row of its own is committed and deleted, which asks the disk
   *   for a real write. The table is made on first use: it belongs to no
   *   migration, holds nothing between probes, and only a probe writes to it.
   */
  async probe(roomBytes: number): Promise<void> {
    this.tx.commitNow();
    this.foldWal();
    const free = freeBytes(this.sqlite.name);
    if (free < roomBytes) throw new Error(`${free} bytes free on the disk that holds ${this.sqlite.name}, under the ${roomBytes} wanted before writes resume`);
    this.sqlite.exec('CREATE TABLE IF NOT EXISTS storage_probe (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
    this.sqlite.exec('INSERT INTO storage_probe (data) VALUES (zeroblob(1024))');
    this.sqlite.exec('DELETE FROM storage_probe');
  }

  /**
   * Commit what is pending, fold the WAL into the database file and close it.
   * A store that cannot take writes keeps its WAL (the next start reads it),
   * and so does one that another connection is reading.
   */
  async close(): Promise<void> {
    this.closeNow();
  }

  /** close(), synchronously. */
  closeNow(): void {
    clearInterval(this.#folding);
    if (!this.sqlite.open) return;
    this.tx.commitNow();
    try {
      this.foldWal();
    } catch {
      // The disk is full or failing: the WAL stays beside the store, complete.
    }
    this.sqlite.close();
  }

  /** Fold the WAL early while it can still be folded (see walOutgrowsRoom). */
  #foldIfShortOfRoom(log: FastifyBaseLogger | undefined): void {
    if (!this.sqlite.open) return;
    try {
      if (walOutgrowsRoom(this.sqlite.name)) this.foldWal();
    } catch (error) {
      // The disk is full already: the probe folds it once there is room.
      log?.debug({ err: error, path: this.sqlite.name }, 'the WAL could not be folded into the store');
    }
  }
}
