import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PACKAGE_ROOT } from '../../paths.ts';

export type Db = Database.Database;

const MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations');

/** How long a statement waits for another connection's lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

export interface OpenOptions {
  /**
   * 'normal' (default) survives a crash of the process, kill -9 included: WAL
   * frames are in the OS before a commit returns. 'full' also survives a crash
   * of the machine, at the cost of an fsync per commit.
   */
  synchronous?: 'normal' | 'full';
}

/** Open (or create) the database file, set the pragmas and apply pending migrations. */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('foreign_keys = OFF');
  db.pragma('temp_store = MEMORY');
  // 8 MB of page cache: the hot pages are the tail of each index (keys made by
  // randomKey sort by time, too). 16 MB bought nothing measurable in the
  // append and task benchmarks and cost 8 MB of resident memory.
  db.pragma('cache_size = -8192');
  // A transaction larger than the cache keeps its pages in memory rather than
  // spilling them to the WAL before it commits: then a full disk fails the
  // COMMIT, where the group commit handles it, and never a write in the middle
  // of a service's change.
  db.pragma('cache_spill = OFF');
  // Checkpoint every ~40 MB of WAL rather than every 4 MB: group commits are
  // many and small, and each checkpoint rewrites the pages they touched.
  db.pragma('wal_autocheckpoint = 10000');
  migrate(db);
  return db;
}

/** The schema version this sluice brings: how many migrations it has. */
export function schemaVersion(dir = MIGRATIONS_DIR): number {
  return readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).length;
}

/**
 * Apply migrations/NNN_name.sql in order. PRAGMA user_version records how many
 * have been applied; each migration runs in one transaction with its bump, so
 * a crash leaves either all of it or none.
 */
export function migrate(db: Db, dir = MIGRATIONS_DIR): number {
  const files = readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
  const applied = db.pragma('user_version', { simple: true }) as number;
  for (const [i, file] of files.entries()) {
    const version = Number.parseInt(file, 10);
    if (version !== i + 1) throw new Error(`migration ${file} is out of sequence: expected number ${i + 1}`);
    if (version <= applied) continue;
    const sql = readFileSync(`${dir}/${file}`, 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
  if (applied > files.length) {
    throw new Error(`the database is at schema version ${applied}, newer than this sluice (${files.length})`);
  }
  return files.length;
}
