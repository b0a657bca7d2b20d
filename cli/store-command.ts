import { isPostgresUrl } from '../server/storage/postgres/postgres-storage.ts';
import { backupStore, restoreStore } from '../server/storage/sqlite/backup.ts';

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function fail(command: string, error: unknown): number {
  process.stderr.write(`sluice ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}

/** backup and restore copy SQLite files; PostgreSQL has its own tools. */
function notForPostgres(db: string): void {
  if (isPostgresUrl(db)) throw new Error('--db names a PostgreSQL database: back it up with pg_dump (or the managed service’s backups), restore with pg_restore; sluice backup and restore copy SQLite files');
}

/** sluice backup --db FILE OUT */
export async function runBackup(db: string, out: string): Promise<number> {
  try {
    notForPostgres(db);
    const report = await backupStore(db, out);
    process.stdout.write(`backed up ${db} to ${report.path} (${mb(report.bytes)}, checked) in ${report.ms} ms\n`);
    return 0;
  } catch (error) {
    return fail('backup', error);
  }
}

/** sluice restore BACKUP --db FILE [--force] */
export async function runRestore(backup: string, db: string, force: boolean): Promise<number> {
  try {
    notForPostgres(db);
    const report = await restoreStore(backup, db, { force });
    process.stdout.write(`restored ${backup} to ${report.path} (${mb(report.bytes)}, checked) in ${report.ms} ms\n`);
    return 0;
  } catch (error) {
    return fail('restore', error);
  }
}
