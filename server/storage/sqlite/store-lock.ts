import { hostname } from 'node:os';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';

/** Who holds a store: written by the holder, read by whoever is refused. */
export interface StoreHolder {
  pid: number;
  host: string;
  /** When it took the store (ISO 8601). */
  since: string;
  /** What it is: "sluice scheduler", "sluice restore"... */
  what: string;
}

/** A store another process holds. The message names the file and the holder. */
export class StoreInUseError extends Error {
  readonly holder: StoreHolder | undefined;
  constructor(message: string, holder: StoreHolder | undefined) {
    super(message);
    this.name = 'StoreInUseError';
    this.holder = holder;
  }
}

/** A database that lives in memory is private to its connection: nothing to lock. */
export function isMemoryStore(path: string): boolean {
  return path === '' || path === ':memory:';
}

/** The lock file of a store: beside it, named as SQLite names its own (-wal, -shm). */
export function lockPathOf(path: string): string {
  return `${resolve(path)}-lock`;
}

/**
 * One process per store. A second scheduler on the same SQLite file would
 * keep its own view of tasks, queues and leases and hand out what the first
 * one handed out (the same fencing token to two holders, the same queue item
 * to two getters).
 *
 * The lock is SQLite's own file lock on a sidecar database (`<store>-lock`),
 * taken with BEGIN IMMEDIATE and kept for the life of the process: the
 * operating system lets go of it when the process ends, however it ends, so
 * a kill -9 leaves nothing stale to judge. The holder's description is
 * committed in the same file just before, for a refused process to read
 * (a reserved lock lets others read). Not the store itself: an exclusive
 * lock on it (locking_mode=EXCLUSIVE) would also shut out readers, backups
 * of the live store among them.
 *
 * Between the commit of the description and taking the lock, another process
 * may slip in; then exactly one of the two gets the lock (BEGIN IMMEDIATE
 * again), and the other refuses to start.
 */
export class StoreLock {
  readonly path: string;
  readonly #db: Database.Database;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
  }

  /** Take the lock of the store at `storePath`, or throw StoreInUseError naming its holder. */
  static acquire(storePath: string, what: string): StoreLock {
    const store = resolve(storePath);
    const path = lockPathOf(storePath);
    const db = new Database(path);
    try {
      db.pragma('busy_timeout = 0');
      if (!tryBegin(db)) throw inUse(store, path, readHolder(db));
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL, what TEXT NOT NULL)');
      const me: StoreHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what };
      db.exec('DELETE FROM holder');
      db.prepare('INSERT INTO holder (pid, host, since, what) VALUES (@pid, @host, @since, @what)').run(me);
      db.exec('COMMIT');
      if (!tryBegin(db)) {
        const holder = readHolder(db);
        throw inUse(store, path, holder && holder.pid === me.pid && holder.host === me.host ? undefined : holder);
      }
      return new StoreLock(path, db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Let go of the store (the process ending does it too). */
  release(): void {
    if (!this.#db.open) return;
    if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
    this.#db.close();
  }
}

function tryBegin(db: Database.Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw error;
  }
}

function readHolder(db: Database.Database): StoreHolder | undefined {
  try {
    return db.prepare('SELECT pid, host, since, what FROM holder LIMIT 1').get() as StoreHolder | undefined;
  } catch {
    return undefined; // no table yet, or its holder is committing it
  }
}

function inUse(store: string, lockPath: string, holder: StoreHolder | undefined): StoreInUseError {
  const who = holder
    ? `${holder.what}, pid ${holder.pid} on host ${holder.host}${holder.host === hostname() ? ' (this host)' : ''}, since ${holder.since}`
    : 'another process that is starting at this very moment';
  return new StoreInUseError(
    `the store ${store} is in use by ${who}. One process per store: stop that one first, or give this one another --db ` +
      `(two schedulers on one store would each keep their own view of its tasks, queues and locks). ` +
      `The lock is held on ${lockPath} and ends with its holder, even after a kill -9.`,
    holder,
  );
}
