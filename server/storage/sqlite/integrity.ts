import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * How a store is checked at start: 'quick' (PRAGMA quick_check: every page
 * of every table and index is read and its b-tree structure checked; what
 * it leaves out is whether each index agrees with its table), 'full'
 * (PRAGMA integrity_check, that too: four to seven times as long here) or
 * 'off'.
 */
export type IntegrityCheck = 'quick' | 'full' | 'off';

/** At most this many problems are listed (the check stops there). */
const MAX_PROBLEMS = 10;

/**
 * Runs in a worker thread: its own read-only connection, so the check does
 * not hold up the start on the main thread. It waits for the main thread's
 * connection if that one is recovering the WAL after a crash (busy_timeout).
 * SQLite's findings, and a file SQLite calls corrupt or no database, are
 * damage; any other failure means the check could not run.
 */
const CHECK = `
const { parentPort, workerData } = require('node:worker_threads');
let db;
try {
  const Database = require(workerData.sqlite);
  db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 60000');
  const rows = db.pragma(workerData.pragma);
  parentPort.postMessage({ problems: rows.map((row) => String(Object.values(row)[0])).filter((line) => line !== 'ok') });
} catch (error) {
  const damage = /^SQLITE_(CORRUPT|NOTADB)/.test(String(error.code));
  parentPort.postMessage(damage ? { problems: [error.code + ': ' + error.message] } : { failed: String(error.code ? error.code + ': ' + error.message : error.message) });
} finally {
  db?.close();
}
`;

export interface IntegrityReport {
  /** What SQLite found wrong; none: the store is sound. */
  problems: string[];
  /** Why the check could not run, if it could not (the start goes on: a check is no reason to refuse a store). */
  failed?: string;
}

/**
 * Check the store file. The check runs on a thread of its own, beside the
 * start on the main thread, and reads the whole file: 'quick' took 0.9 s for
 * 119 MB on a busy 2-core machine (bench/restart.ts measures it).
 */
export function checkIntegrity(path: string, mode: IntegrityCheck): Promise<IntegrityReport> {
  if (mode === 'off' || !existsSync(path)) return Promise.resolve({ problems: [] });
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const pragma = `${mode === 'full' ? 'integrity_check' : 'quick_check'}(${MAX_PROBLEMS})`;
  return new Promise((done) => {
    const worker = new Worker(CHECK, { eval: true, workerData: { sqlite, path: resolve(path), pragma } });
    let report: IntegrityReport | undefined;
    worker.once('message', (message: IntegrityReport) => (report = message));
    worker.once('error', (error) => (report = { problems: [], failed: error.message }));
    worker.once('exit', () => done(report ?? { problems: [], failed: 'the check ended without an answer' }));
  });
}

/** A store that failed its check at start. The message names the file, what is wrong and what to do. */
export class StoreDamagedError extends Error {
  readonly problems: readonly string[];
  constructor(path: string, problems: readonly string[]) {
    const file = resolve(path);
    super(
      `the store ${file} is damaged; it was not opened for service. SQLite's check found:\n  ${problems.join('\n  ')}\n` +
        'Keep a copy of the file as it is, then either:\n' +
        `  - restore the latest backup: npx sluice restore BACKUP --db ${file} --force\n` +
        `  - or salvage what SQLite can still read: sqlite3 ${file} .recover | sqlite3 ${file}.recovered, check it, then start with --db ${file}.recovered\n` +
        'What was written after the backup, or sat on the damaged pages, is lost. (docs/operations.md, "Backups and recovery".)',
    );
    this.name = 'StoreDamagedError';
    this.problems = problems;
  }
}
