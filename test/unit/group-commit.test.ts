import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { openDatabase } from '../../server/storage/sqlite/database.ts';
import { GroupCommit } from '../../server/storage/sqlite/group-commit.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('group commit over a real SQLite file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-group-commit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'db.sqlite');
  const db = openDatabase(path);
  t.teardown(() => db.close());
  const fatal: Error[] = [];
  const tx = new GroupCommit(db, (error) => fatal.push(error));
  const insert = db.prepare('INSERT INTO variables (name, value, updated_at) VALUES (?, ?, 0)');
  const count = db.prepare('SELECT count(*) FROM variables').pluck();
  const other = new Database(path, { readonly: true });
  t.teardown(() => other.close());
  const seenElsewhere = (): number => other.prepare('SELECT count(*) FROM variables').pluck().get() as number;

  await t.test('a read joins the turn, and nothing waits for it', async (t) => {
    tx.read();
    t.equal(db.inTransaction, true, 'the read opened the turn’s transaction');
    let ran = false;
    tx.afterCommit(() => (ran = true));
    t.equal(ran, true, 'afterCommit runs at once when nothing was written');
    const resolved = await Promise.race([tx.committed().then(() => 'committed'), Promise.resolve().then(() => 'later')]);
    t.equal(resolved, 'committed', 'committed() does not wait for a read-only turn');
    await nextTurn();
    t.equal(db.inTransaction, false, 'the transaction ends in the next turn');
  });

  await t.test('writes of one turn share one commit; reads in that turn see them', async (t) => {
    tx.read();
    t.equal(count.get(), 0);
    tx.write();
    insert.run('a', '1');
    tx.write();
    insert.run('b', '2');
    t.equal(count.get(), 2, 'the turn reads its own writes');
    t.equal(seenElsewhere(), 0, 'not committed yet');
    const order: string[] = [];
    tx.afterCommit(() => order.push('after'));
    const committed = tx.committed().then(() => order.push('committed'));
    t.same(order, [], 'both wait for the commit');
    await committed;
    t.same(order, ['after', 'committed']);
    t.equal(seenElsewhere(), 2, 'committed for every connection');
    t.equal(db.inTransaction, false);
  });

  t.same(fatal, [], 'no commit failed');
});

t.test('a write that fails ends the writer: its turn is rolled back, its waiters told, nothing more is committed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-group-commit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'db.sqlite');
  const db = openDatabase(path);
  t.teardown(() => db.close());
  const failures: Error[] = [];
  const tx = new GroupCommit(db, (error) => failures.push(error));
  const insert = db.prepare('INSERT INTO variables (name, value, updated_at) VALUES (?, ?, 0)');
  const other = new Database(path, { readonly: true });
  t.teardown(() => other.close());
  const seenElsewhere = (): number => other.prepare('SELECT count(*) FROM variables').pluck().get() as number;

  // A store that is full: no page may be added.
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
  tx.write();
  insert.run('small', '1'); // fits in a page there is
  const waiting = tx.committed();
  let announced = false;
  tx.afterCommit(() => (announced = true));
  tx.write();
  t.throws(() => insert.run('large', 'x'.repeat(64 * 1024)), { code: 'SQLITE_FULL' }, 'a write that needs a page fails');
  t.equal(db.inTransaction, false, 'and SQLite rolled the whole transaction back');
  tx.write(); // the next write of the turn sees it
  await t.rejects(waiting, { code: 'SLUICE_ERR_STORAGE', status: 507 }, 'what waited for the commit is told it failed');
  t.equal(announced, false, 'nothing is announced');
  t.equal(failures.length, 1, 'the owner hears it once');
  t.ok(tx.failed, 'the writer is ended');

  // Room again: still nothing from this writer is committed (its services' memory no longer matches the disk).
  db.pragma('max_page_count = 1000000');
  insert.run('later', '2');
  const later = tx.committed();
  await t.rejects(later, { code: 'SLUICE_ERR_STORAGE' });
  t.equal(seenElsewhere(), 0, 'nothing was committed');
  t.equal(db.inTransaction, false, 'and no transaction is left open');
  t.equal(failures.length, 1);
});
