import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { openDatabase } from '../../server/store/database.ts';
import { GroupCommit } from '../../server/store/group-commit.ts';

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
