import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { schemaVersion } from './database.ts';
import { StoreLock } from './store-lock.ts';

export interface CopyReport {
  /** The file written. */
  path: string;
  bytes: number;
  ms: number;
}

/**
 * A consistent copy of a store, live or not, through SQLite's online backup
 * API: the pages are copied in one step, under one read transaction, so the
 * copy is the store as of one commit: every write acknowledged before the
 * backup began is in it. A running scheduler is not stopped nor held up (in
 * WAL mode a reader does not block the writer). The copy is written beside
 * `out` and renamed onto it once complete and checked, so `out` is never
 * half a backup.
 */
export async function backupStore(store: string, out: string): Promise<CopyReport> {
  const began = performance.now();
  const source = resolve(store);
  const target = resolve(out);
  if (target === source) throw new Error(`the backup would overwrite the store itself: give another file than ${source}`);
  if (!existsSync(source)) throw new Error(`no store at ${source}`);
  const partial = `${target}.partial`;
  removeDatabase(partial);
  await copyWhole(source, partial);
  const problems = check(partial, 'quick_check');
  if (problems.length > 0) {
    removeDatabase(partial);
    throw new Error(`the copy of ${source} failed its check (${problems.join('; ')}); nothing was written to ${target}`);
  }
  removeDatabase(target, { keepMain: true });
  renameSync(partial, target);
  return { path: target, bytes: statSync(target).size, ms: Math.round(performance.now() - began) };
}

/**
 * Put a backup in place of a store. Refused, changing nothing, when the
 * backup is not a sound sluice store, when a process holds the store (a
 * scheduler runs on it), or when the store exists and `force` is not given.
 * The backup is checked whole (PRAGMA integrity_check) first; the store is
 * replaced by a renamed, complete copy, its WAL and shared-memory files
 * removed (they belong to the store replaced).
 */
export async function restoreStore(backup: string, store: string, options: { force?: boolean } = {}): Promise<CopyReport> {
  const began = performance.now();
  const source = resolve(backup);
  const target = resolve(store);
  if (target === source) throw new Error(`the backup and the store are the same file: ${source}`);
  if (!existsSync(source)) throw new Error(`no backup at ${source}`);
  const problems = check(source, 'integrity_check');
  if (problems.length > 0) throw new Error(`the backup ${source} is damaged (${problems.join('; ')}); nothing was restored`);
  assertSluiceStore(source);
  const lock = StoreLock.acquire(target, 'sluice restore');
  try {
    if (existsSync(target) && !options.force) {
      throw new Error(`a store exists at ${target}: --force replaces it (keep a copy of it first if it may still be wanted); nothing was restored`);
    }
    const partial = `${target}.restoring`;
    removeDatabase(partial);
    await copyWhole(source, partial);
    removeDatabase(target, { keepMain: true });
    renameSync(partial, target);
    const after = check(target, 'quick_check');
    if (after.length > 0) throw new Error(`the restored store ${target} failed its check: ${after.join('; ')}`);
    return { path: target, bytes: statSync(target).size, ms: Math.round(performance.now() - began) };
  } finally {
    lock.release();
  }
}

/** The problems SQLite's check finds in a file (none: sound). */
function check(path: string, pragma: 'quick_check' | 'integrity_check'): string[] {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const rows = db.pragma(`${pragma}(10)`) as Array<Record<string, unknown>>;
    return rows.map((row) => String(Object.values(row)[0])).filter((line) => line !== 'ok');
  } catch (error) {
    return [(error as Error).message];
  } finally {
    db?.close();
  }
}

/** Throws unless the file is a sluice store this sluice can open. */
function assertSluiceStore(path: string): void {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    const tasks = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'tasks'").get();
    if (version < 1 || !tasks) throw new Error(`${path} is not a sluice store (no sluice tables in it); nothing was restored`);
    if (version > schemaVersion()) throw new Error(`${path} is a store of a newer sluice (schema ${version}, this one knows ${schemaVersion()}); nothing was restored`);
  } finally {
    db.close();
  }
}

/** Remove a database file and what SQLite keeps beside it (-wal, -shm, -journal). */
function removeDatabase(path: string, options: { keepMain?: boolean } = {}): void {
  for (const suffix of [...(options.keepMain ? [] : ['']), '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
}

/** Copy the store at `source` to `partial` in one step of SQLite's online backup; a failed copy leaves no file behind. */
async function copyWhole(source: string, partial: string): Promise<void> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    // transfer(0) first, then everything at once: a copy made in several steps
    // starts over whenever the scheduler commits in between.
    await db.backup(partial, { progress: () => 0x7fffffff });
  } catch (error) {
    removeDatabase(partial);
    throw error;
  } finally {
    db.close();
  }
}
