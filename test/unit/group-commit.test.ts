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

t.test('with a shipper: a turn counts as committed once its shipment is durable, in order; a failed shipment ends the writer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-group-commit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'db.sqlite'));
  t.teardown(() => db.close());
  // Each shipment is settled by the test, as a store of record's answer would be.
  const shipments: Array<{ settle: (failure?: Error) => void; done: Promise<void> }> = [];
  let discarded = 0;
  const shipper = {
    ship(): Promise<void> {
      let settle!: (failure?: Error) => void;
      const done = new Promise<void>((resolve, reject) => (settle = (failure) => (failure ? reject(failure) : resolve())));
      shipments.push({ settle, done });
      return done;
    },
    discard: () => discarded++,
  };
  const fatal: Error[] = [];
  const tx = new GroupCommit(db, (error) => fatal.push(error), shipper);
  const insert = db.prepare('INSERT INTO variables (name, value, updated_at) VALUES (?, ?, 0)');
  const state = (p: Promise<void>): Promise<string> => Promise.race([p.then(() => 'resolved', () => 'rejected'), nextTurn().then(() => 'pending')]);

  tx.write();
  insert.run('a', '1');
  const first = tx.committed();
  let announced = false;
  tx.afterCommit(() => (announced = true));
  await nextTurn();
  t.equal(shipments.length, 1, 'the local commit shipped the turn');
  t.equal(await state(first), 'pending', 'committed() waits for the shipment, not the local commit');
  const between = tx.committed();
  t.equal(await state(between), 'pending', 'between turns too, committed() waits for what is on its way');
  tx.write();
  insert.run('b', '2');
  const second = tx.committed();
  await nextTurn();
  shipments[0]?.settle();
  t.equal(await state(first), 'resolved');
  t.equal(await state(between), 'resolved');
  t.equal(announced, true, 'afterCommit ran once the shipment was durable');
  t.equal(await state(second), 'pending', 'the next turn waits for its own shipment');
  shipments[1]?.settle(new Error('fenced'));
  t.equal(await state(second), 'rejected', 'a failed shipment rejects its waiters');
  t.equal(fatal.length, 1, 'and ends the writer, once');
  t.ok(tx.failed);
  t.ok(discarded >= 1, 'the writes recorded since are dropped');
  tx.write();
  insert.run('c', '3');
  t.equal(await state(tx.committed()), 'rejected', 'nothing is committed after');
});
