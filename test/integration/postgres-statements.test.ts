// Every write statement of every store, as shipped to PostgreSQL, is one PostgreSQL takes.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { captureWrites, type PortableStatement, portable } from '../../server/storage/postgres/capture.ts';
import { migrate } from '../../server/storage/postgres/migrate.ts';
import { SqliteStorage } from '../../server/storage/sqlite/sqlite-storage.ts';
import { TaskStore } from '../../server/storage/sqlite/task-store.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { ROOT } from '../helpers/processes.ts';

const STORES_DIR = join(ROOT, 'server', 'storage', 'sqlite');

/** Make every store of server/storage/sqlite/*-store.ts on a copy that records the write statements they prepare. */
async function writeStatements(): Promise<{ statements: PortableStatement[]; stores: string[] }> {
  const statements: PortableStatement[] = [];
  const storage = new SqliteStorage(':memory:', {
    onFailure: () => undefined,
    copyOf: { capture: (db) => captureWrites(db, () => undefined, (s) => statements.push(s)), ship: () => undefined, discard: () => undefined },
  });
  const stores: string[] = [];
  for (const file of readdirSync(STORES_DIR).filter((f) => f.endsWith('-store.ts')).sort()) {
    const module = (await import(join(STORES_DIR, file))) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (typeof value !== 'function' || !/Store$/.test(name)) continue;
      const Store = value as new (...args: unknown[]) => unknown;
      if (Store === (TaskStore as unknown)) new TaskStore(storage, { retentionMs: 1000 });
      else new Store(storage.db, storage.tx);
      stores.push(name);
    }
  }
  storage.closeNow();
  return { statements, stores };
}

t.test('placeholders are translated, string literals left alone', async (t) => {
  t.match(portable("UPDATE tasks SET a = ?, b = 'x?y' WHERE key = ?"), { text: "UPDATE tasks SET a = $1, b = 'x?y' WHERE key = $2", names: undefined, table: 'tasks' });
  t.match(portable('INSERT INTO leases (id, token) VALUES (@id, @token) ON CONFLICT (id) DO UPDATE SET token = @token'), {
    text: 'INSERT INTO leases (id, token) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET token = $2',
    names: ['id', 'token'],
  });
  t.equal(portable('SELECT 1'), undefined);
});

t.test('a statement that changes the copy another way is refused when it is prepared', async (t) => {
  const storage = new SqliteStorage(':memory:', {
    onFailure: () => undefined,
    copyOf: { capture: (db) => captureWrites(db, () => undefined), ship: () => undefined, discard: () => undefined },
  });
  t.teardown(() => storage.closeNow());
  t.throws(() => storage.db.prepare('REPLACE INTO flags (name, set_at) VALUES (?, ?)'), /not shipped/);
  t.throws(() => storage.db.prepare('CREATE TABLE x (a)'), /not shipped/);
  t.doesNotThrow(() => storage.db.prepare('SELECT 1 FROM flags'));
});

t.test('every write statement of every store is prepared by a real PostgreSQL', async (t) => {
  const { statements, stores } = await writeStatements();
  t.ok(stores.includes('TaskStore') && stores.includes('QueueStore') && stores.length >= 10, `stores: ${stores.join(', ')}`);
  t.ok(statements.length >= 40, `${statements.length} write statements`);
  const server = await startPostgres(t);
  const client = new pg.Client(server.url);
  await client.connect();
  t.teardown(() => client.end());
  await migrate(client);
  const refused: string[] = [];
  for (const [i, statement] of statements.entries()) {
    try {
      await client.query(`PREPARE sluice_check_${i} AS ${statement.text}`);
    } catch (error) {
      refused.push(`${(error as Error).message}: ${statement.sqlite}`);
    }
  }
  t.same(refused, [], 'PostgreSQL takes them all');

  // Column by column, the types the copy and PostgreSQL give each value agree.
  const sqlite = new SqliteStorage(':memory:', { onFailure: () => undefined });
  t.teardown(() => sqlite.closeNow());
  const expected: Record<string, string> = { INTEGER: 'bigint', TEXT: 'text', BLOB: 'bytea' };
  const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()",
  );
  const postgres = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r.data_type]));
  const differ: string[] = [];
  const tables = sqlite.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  for (const table of tables) {
    for (const column of sqlite.sqlite.pragma(`table_info(${table})`) as Array<{ name: string; type: string }>) {
      const want = expected[column.type.toUpperCase()] ?? `(a SQLite type sluice does not map: ${column.type})`;
      const have = postgres.get(`${table}.${column.name}`);
      if (have !== want) differ.push(`${table}.${column.name}: SQLite ${column.type}, PostgreSQL ${have ?? 'missing'}`);
    }
  }
  t.ok(tables.length >= 15, `${tables.length} tables`);
  t.same(differ, [], 'every column of the copy has its PostgreSQL type (INTEGER: bigint, TEXT: text, BLOB: bytea)');
});
