import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { PACKAGE_ROOT } from '../../paths.ts';

export const POSTGRES_MIGRATIONS_DIR = join(PACKAGE_ROOT, 'migrations', 'postgres');

/**
 * The advisory lock (in this database) that migrations are applied under, so
 * that schedulers starting together on one database apply each one once.
 */
export const MIGRATION_LOCK = 0x51_75_1c_e0_01n;

const CREATE_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_version (
  version    BIGINT PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

/** A connection that runs queries: a pg Client or a client checked out of a Pool. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Apply migrations/postgres/NNN_name.sql in order, as the SQLite store does
 * with migrations/NNN_name.sql: the same numbers, the same tables. Each
 * migration runs in one transaction with the row that records it in
 * schema_version, so a crash leaves all of it or none (PostgreSQL's
 * DDL is transactional). Each transaction first takes MIGRATION_LOCK, so
 * runners on one database take turns and none applies a migration twice.
 * Answers the schema version: the number of migrations.
 *
 * Give it a connection of its own: it runs BEGIN and COMMIT on it.
 */
export async function migrate(db: Queryable, dir = POSTGRES_MIGRATIONS_DIR): Promise<number> {
  const files = migrationFiles(dir);
  const before = await schemaVersion(db);
  if (before > files.length) throw new Error(`the database is at schema version ${before}, newer than this sluice (${files.length})`);
  if (before === files.length) return before;
  for (const [i, file] of files.entries()) {
    const version = i + 1;
    await db.query('BEGIN');
    try {
      await db.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await db.query(CREATE_VERSION_TABLE);
      const applied = await currentVersion(db);
      if (applied > files.length) {
        throw new Error(`the database is at schema version ${applied}, newer than this sluice (${files.length})`);
      }
      if (version <= applied) {
        await db.query('COMMIT');
        continue;
      }
      // No parameters: the simple protocol, which runs every statement of the file.
      await db.query(readFileSync(join(dir, file), 'utf8'));
      await db.query('INSERT INTO schema_version (version, name) VALUES ($1, $2)', [version, file]);
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK').catch(() => {});
      throw new Error(`PostgreSQL migration ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
  return files.length;
}

/** The schema version the database is at: the highest migration applied, 0 before any. */
export async function schemaVersion(db: Queryable): Promise<number> {
  const exists = await db.query<{ found: string | null }>("SELECT to_regclass('schema_version') AS found");
  return exists.rows[0]?.found ? currentVersion(db) : 0;
}

async function currentVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ version: string | null }>('SELECT max(version) AS version FROM schema_version');
  return Number(rows[0]?.version ?? 0);
}

function migrationFiles(dir: string): string[] {
  const files = readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort();
  for (const [i, file] of files.entries()) {
    if (Number.parseInt(file, 10) !== i + 1) throw new Error(`migration ${file} is out of sequence: expected number ${i + 1}`);
  }
  return files;
}
