import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import t, { type Test } from 'tap';
import { POSTGRES_MIGRATIONS_DIR, migrate, schemaVersion } from '../../server/storage/postgres/migrate.ts';
import { openDatabase } from '../../server/storage/sqlite/database.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { ROOT } from '../helpers/processes.ts';

const migrationFiles = (dir: string): string[] => readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
/** SQLite's migrations: PostgreSQL has a twin of each, by the same name. */
const SQLITE_MIGRATIONS = migrationFiles(join(ROOT, 'migrations'));
const N = SQLITE_MIGRATIONS.length;

async function connect(t: Test, url: string): Promise<pg.Client> {
  const client = new pg.Client(url);
  await client.connect();
  t.teardown(() => client.end());
  return client;
}

/** Table → column names, and the names of the indexes made by the migrations, as SQLite has them. */
function sqliteSchema(): { tables: Record<string, string[]>; indexes: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-schema-'));
  try {
    const db = openDatabase(join(dir, 'schema.db'));
    const tables: Record<string, string[]> = {};
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>) {
      tables[name] = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as Array<{ name: string }>).map((c) => c.name).sort();
    }
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as Array<{ name: string }>).map((r) => r.name).sort();
    db.close();
    return { tables, indexes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresSchema(db: pg.Client): Promise<{ tables: Record<string, string[]>; indexes: string[] }> {
  const columns = await db.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name <> 'schema_version' ORDER BY table_name, column_name`,
  );
  const tables: Record<string, string[]> = {};
  for (const { table_name, column_name } of columns.rows) (tables[table_name] ??= []).push(column_name);
  const indexes = await db.query<{ indexname: string }>(
    `SELECT i.indexname FROM pg_indexes i
     WHERE i.schemaname = current_schema() AND i.tablename <> 'schema_version'
       AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
     ORDER BY i.indexname`,
  );
  return { tables, indexes: indexes.rows.map((r) => r.indexname) };
}

t.test('PostgreSQL migrations', async (t) => {
  const server = await startPostgres(t);
  const db = await connect(t, server.url);

  t.same(migrationFiles(POSTGRES_MIGRATIONS_DIR), SQLITE_MIGRATIONS, 'a PostgreSQL twin of every SQLite migration, by the same name');
  t.equal(await schemaVersion(db), 0, 'an empty database is at version 0');
  const version = await migrate(db);
  t.equal(version, N, 'as many migrations as for SQLite');
  t.equal(await schemaVersion(db), N);

  const sqlite = sqliteSchema();
  const postgres = await postgresSchema(db);
  t.same(postgres.tables, sqlite.tables, 'the same tables with the same columns as SQLite');
  t.same(postgres.indexes, sqlite.indexes, 'the same indexes');

  t.equal(await migrate(db), N, 'applying them again changes nothing');
  const recorded = await db.query('SELECT version, name FROM schema_version ORDER BY version');
  t.same(recorded.rows.map((r) => [Number(r.version), r.name]), SQLITE_MIGRATIONS.map((file, i) => [i + 1, file]), 'each migration recorded once');

  await t.test('identifiers compare byte by byte, as in SQLite, whatever the database collation', async (t) => {
    await db.query("INSERT INTO flags (name, set_at) VALUES ('b', 0), ('B', 0), ('_x', 0), ('a', 0), ('é', 0)");
    const names = (await db.query('SELECT name FROM flags ORDER BY name')).rows.map((r) => r.name);
    t.same(names, ['B', '_x', 'a', 'b', 'é']);
    await db.query("INSERT INTO holds (key, holder) VALUES ('k', 'client:1'), ('k', 'client;'), ('k', 'clienT:2'), ('k', 'task:k2')");
    const clients = (await db.query("SELECT holder FROM holds WHERE holder >= 'client:' AND holder < 'client;' ORDER BY holder")).rows.map((r) => r.holder);
    t.same(clients, ['client:1'], 'the range scan over client holders finds client:<id> only');
  });

  await t.test('queue item ids come in blocks that never go back', async (t) => {
    const first = Number((await db.query("SELECT nextval('queue_item_id_blocks') AS b")).rows[0].b);
    const second = Number((await db.query("SELECT nextval('queue_item_id_blocks') AS b")).rows[0].b);
    t.equal(first, 1);
    t.equal(second, 1025, 'the next block starts 1024 later');
  });

  await t.test('schedulers starting together apply each migration once', async (t) => {
    await db.query('CREATE DATABASE together');
    const url = server.url.replace(/\/[^/]+$/, '/together');
    const clients = await Promise.all([1, 2, 3].map(() => connect(t, url)));
    const versions = await Promise.all(clients.map((c) => migrate(c)));
    t.same(versions, [N, N, N]);
    const count = await clients[0].query('SELECT count(*)::int AS n, count(DISTINCT version)::int AS d FROM schema_version');
    t.same(count.rows[0], { n: N, d: N }, 'each recorded once');
  });

  await t.test('a database newer than this sluice is refused', async (t) => {
    await db.query("INSERT INTO schema_version (version, name) VALUES ($1, 'from_the_future.sql')", [N + 1]);
    await t.rejects(migrate(db), new RegExp(`schema version ${N + 1}, newer than this sluice \\(${N}\\)`));
    await db.query('DELETE FROM schema_version WHERE version = $1', [N + 1]);
  });

  await t.test('a migration that fails leaves nothing of itself behind', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-pg-migrations-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, '001_one.sql'), 'CREATE TABLE one (id BIGINT PRIMARY KEY);');
    writeFileSync(join(dir, '002_two.sql'), 'CREATE TABLE two (id BIGINT PRIMARY KEY);\nINSERT INTO two VALUES (1);\nCREATE TABLE broken (;');
    await db.query('CREATE DATABASE failing');
    const failing = await connect(t, server.url.replace(/\/[^/]+$/, '/failing'));
    await t.rejects(migrate(failing, dir), /migration 002_two\.sql: syntax error/);
    t.equal(await schemaVersion(failing), 1, 'the migration before it stays applied');
    t.equal((await failing.query("SELECT to_regclass('two') AS t")).rows[0].t, null, 'its table was rolled back');
    t.equal((await failing.query("SELECT count(*)::int AS n FROM one")).rows[0].n, 0, 'and the connection is usable');

    writeFileSync(join(dir, '002_two.sql'), 'CREATE TABLE two (id BIGINT PRIMARY KEY);');
    writeFileSync(join(dir, '004_four.sql'), 'SELECT 1;');
    await t.rejects(migrate(failing, dir), /004_four\.sql is out of sequence: expected number 3/);
  });
});
