import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { channelEntryHolder, clientHolder, dependentHolder, FIRE_AND_FORGET, isDependentHolder, queueItemHolder, variableHolder } from '../../server/state/holder-kinds.ts';
import { holdersFrom } from '../../server/state/holders.ts';
import type { ActiveTask, WorkerState } from '../../server/state/types.ts';
import { SqliteStorage } from '../../server/storage/sqlite/sqlite-storage.ts';
import { TaskStore } from '../../server/storage/sqlite/task-store.ts';

const worker: WorkerState = {
  id: 'w1',
  name: 'worker-one',
  functions: new Set(['inc']),
  concurrency: 1,
  connectedAt: 0,
  lastHeartbeatAt: 0,
  running: 0,
  tasks: new Map(),
  draining: false,
  pid: null,
  stats: null,
};

function task(key: string, seq: number): ActiveTask {
  return {
    key,
    fn: 'inc',
    args: '[1]',
    kwargs: null,
    deps: [],
    priority: 0,
    seq,
    timeoutMs: null,
    submittedAt: 1000,
    retries: 0,
    state: 'queued',
    ended: false,
    waitingOn: undefined,
    dependents: undefined,
    holders: 'client:c1',
    worker: null,
    attempt: 0,
    failures: 0,
    startedAt: null,
    seceded: false,
  };
}

t.test('held writes over a real SQLite file (the storage’s, seen through the task store)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-task-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const storage = new SqliteStorage(join(dir, 'db.sqlite'), { onFailure: (error) => t.fail(error.message) });
  const { db, tx } = storage;
  const store = new TaskStore(storage, { retentionMs: 60_000 });
  t.teardown(() => storage.closeNow());
  // Straight to the table, past the store: what SQLite holds right now.
  const row = db.prepare('SELECT status, attempt, worker, result, owner FROM tasks WHERE key = ?');

  await t.test('writes run after send, in order, with the values they were made with', async (t) => {
    const a = task('inc-a', 1);
    const seenAtSend: unknown[] = [];
    storage.holdingWrites(
      () => {
        store.insertTask(a);
        // What the scheduler does next: assign and start the task, then end it.
        a.attempt = 1;
        a.worker = worker;
        a.startedAt = 2000;
        store.endTask(a, { status: 'finished', result: '2' }, 3000);
        a.worker = null;
      },
      () => seenAtSend.push(row.get('inc-a')),
    );
    t.same(seenAtSend, [undefined], 'nothing was written when send ran');
    t.same(row.get('inc-a'), { status: 'finished', attempt: 1, worker: 'worker-one', result: '2', owner: 'client:c1' }, 'insert then end, each with the values of its call');
    await tx.committed();
    t.equal(db.inTransaction, false, 'the held writes joined the turn’s commit');
  });

  await t.test('what waits for the commit waits for the held writes too', async (t) => {
    await tx.committed();
    const f = task('inc-f', 6);
    const order: string[] = [];
    let waited: Promise<void> | undefined;
    storage.holdingWrites(
      () => {
        store.insertTask(f);
        store.endTask(f, { status: 'finished', result: '7' }, 3000);
        storage.afterCommit(() => order.push('afterCommit'));
        waited = storage.committed().then(() => {
          order.push('committed');
        });
      },
      () => order.push('send'),
    );
    t.same(order, ['send'], 'neither ran before the writes were even made');
    t.equal(db.inTransaction, true, 'the held writes are in the open transaction');
    await waited;
    t.same(order, ['send', 'afterCommit', 'committed'], 'both ran once the commit was made');
    t.equal(db.inTransaction, false);
  });

  await t.test('a read while writes are held sees them', async (t) => {
    const b = task('inc-b', 2);
    const c = task('inc-c', 3);
    let fromHeld: string | undefined;
    let statusRead: string | undefined;
    let rowDuring: unknown = 'not read';
    storage.holdingWrites(
      () => {
        store.insertTask(b);
        store.endTask(b, { status: 'finished', result: '"b"' }, 3000);
        fromHeld = store.result('inc-b');
        rowDuring = row.get('inc-b');
        store.insertTask(c);
        statusRead = store.task('inc-c')?.status;
      },
      () => undefined,
    );
    t.equal(fromHeld, '"b"', 'the result of a task ended while writes are held is at hand');
    t.equal(rowDuring, undefined, 'and reading it did not run the held writes');
    t.equal(statusRead, 'pending', 'any other read runs the held writes first');
    t.equal(store.result('inc-b'), '"b"', 'the result is stored once the writes ran');
    await tx.committed();
  });

  await t.test('writes made before fn throws still run', async (t) => {
    const d = task('inc-d', 4);
    t.throws(() =>
      storage.holdingWrites(
        () => {
          store.insertTask(d);
          throw new Error('boom');
        },
        () => t.fail('send runs only when fn returns'),
      ),
    );
    t.equal((row.get('inc-d') as { status: string } | undefined)?.status, 'pending');
    await tx.committed();
  });

  await t.test('without holdingWrites, writes run at once', async (t) => {
    store.insertTask(task('inc-e', 5));
    t.equal((row.get('inc-e') as { status: string } | undefined)?.status, 'pending');
    store.releaseHold('inc-e', 'client:c1');
    t.equal((row.get('inc-e') as { owner: string | null }).owner, null);
    await tx.committed();
  });
});

t.test('holders with hostile names: the store answers by kind exactly as holder-kinds.ts reads them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-task-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const storage = new SqliteStorage(join(dir, 'db.sqlite'), { onFailure: (error) => t.fail(error.message) });
  const { db, tx } = storage;
  const store = new TaskStore(storage, { retentionMs: 60_000 });
  t.teardown(() => storage.closeNow());

  // Names with the separator, LIKE's wildcards and escape, other kinds' prefixes, other cases.
  const names = ['a:b', 'a%', '%', 'a_b', '_', 'a\\b', 'task:x', 'TASK:x', 'Task_x', 'client:c', 'Client:c', 'ff'];
  const holders = [FIRE_AND_FORGET, ...names.flatMap((name) => [clientHolder(name), channelEntryHolder(name, 3), queueItemHolder(name, 4), variableHolder(name), dependentHolder(name)])];
  const kept = holders.filter((holder) => !isDependentHolder(holder));
  const clients = [clientHolder('c1'), ...names.map(clientHolder)];

  const pending = task('hostile', 10);
  pending.holders = holdersFrom(holders);
  store.insertTask(pending);
  for (const holder of clients) store.addHold('other', holder); // no task row: only holds
  await tx.committed();

  t.same(store.holdersOf('hostile').sort(), [...kept].sort(), 'every holder but the dependent tasks, whatever the names hold');
  t.same(store.pending().find((row) => row.key === 'hostile')?.holders.sort(), [...kept].sort(), 'restored with the same holders');
  t.same(store.clientIds().sort(), ['c1', ...names].sort(), 'the client sessions, and nothing that merely looks like one');
  for (const holder of holders) t.same(store.keysHeldBy(holder), holder.startsWith('client:') ? ['hostile', 'other'] : ['hostile'], `${holder} holds what it holds`);

  store.releaseHolder(clientHolder('a_b'));
  store.releaseHolder(clientHolder('%'));
  await tx.committed();
  t.notOk(store.holdersOf('hostile').includes(clientHolder('a_b')));
  t.ok(store.holdersOf('hostile').includes(clientHolder('a%')), 'releasing client:% lets go of nothing else');
  t.ok(store.holdersOf('hostile').includes(clientHolder('_')), 'nor does releasing client:a_b');
});
