// Backups of a live store under load, and restores: the copy opens and holds
// every write acknowledged before the backup began; a restore checks the
// backup, refuses a store in use or one that exists (without --force), and
// refuses a damaged backup, changing nothing.
import { closeSync, copyFileSync, existsSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Agent, request } from 'undici';
import { api, startScheduler, tempDir } from '../helpers/cluster.ts';
import { Proc, type Teardown } from '../helpers/processes.ts';

/** Run a sluice command to its end. */
async function sluice(t: Teardown, args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = new Proc(args);
  t.teardown(() => proc.stop('SIGKILL'));
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 120_000);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.lines.join('\n') };
}

/** Every item left in a queue, taken. */
async function drain(url: string, queue: string): Promise<number[]> {
  const ids: number[] = [];
  for (;;) {
    const answer = await api(url).post(`/queues/${queue}/get?batch=1000&timeout=0`);
    if (answer.status !== 200) return ids;
    ids.push(...answer.body.items.map((item: { id: number }) => item.id));
  }
}

t.test('a backup taken while clients write holds every write acknowledged before it began; restore puts it back', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sluice.db');
  const backup = join(dir, 'backup.db');
  const scheduler = await startScheduler(t, { db, args: ['--rate-limit-per-minute', '0'] });

  // Writers: queue puts and channel appends, each acknowledged one recorded, until told to stop.
  const agent = new Agent({ connections: 8 });
  t.teardown(() => agent.close());
  const ackedItems: number[] = [];
  const ackedKeys: string[] = [];
  let stop = false;
  let n = 0;
  const post = async (path: string, body: unknown): Promise<number> => {
    const response = await request(scheduler.url + path, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await response.body.text();
    return response.statusCode;
  };
  const writers = [
    ...Array.from({ length: 4 }, async () => {
      while (!stop) {
        const ids = Array.from({ length: 20 }, () => n++);
        if ((await post('/queues/load/put', { items: ids.map((id) => ({ id, pad: 'p'.repeat(200) })) })) === 201) ackedItems.push(...ids);
      }
    }),
    (async () => {
      for (let i = 0; !stop; i++) {
        const key = `entry-${i}`;
        if ((await post('/channels/load/append', { tasks: [{ fn: 'inc', args: [i], key }] })) === 201) ackedKeys.push(key);
      }
    })(),
  ];
  while (ackedItems.length < 2000) await new Promise((resolve) => setTimeout(resolve, 20));

  // The backup begins now: what is acknowledged at this moment must be in it.
  const itemsBefore = [...ackedItems];
  const keysBefore = [...ackedKeys];
  const taken = await sluice(t, ['backup', '--db', db, backup]);
  const itemsAfter = ackedItems.length;
  stop = true;
  await Promise.all(writers);
  t.equal(taken.code, 0, `sluice backup: ${taken.output}`);
  t.match(taken.output, /backed up .* \(.* MB, checked\)/);
  t.ok(itemsAfter > itemsBefore.length, `the clients went on writing during the backup (${itemsBefore.length} items acknowledged before, ${itemsAfter} when it ended)`);
  t.notOk(existsSync(`${backup}.partial`), 'no partial copy left behind');

  // The copy opens (a scheduler starts on a copy of it: draining changes it) and holds every write acknowledged before the backup began, each once.
  const opened = join(dir, 'opened.db');
  copyFileSync(backup, opened);
  const copy = await startScheduler(t, { db: opened });
  const ids = await drain(copy.url, 'load');
  t.equal(new Set(ids).size, ids.length, 'no item twice');
  const inCopy = new Set(ids);
  t.same(itemsBefore.filter((id) => !inCopy.has(id)), [], `every item acknowledged before the backup is in it (${ids.length} items in the copy)`);
  const channel = (await api(copy.url).get('/channels/load?limit=100000')).body;
  const keys = new Set(channel.futures.map((f: { key: string }) => f.key));
  t.same(keysBefore.filter((key) => !keys.has(key)), [], `every append acknowledged before the backup is in it (${channel.length} entries)`);
  await copy.proc.stop('SIGTERM');

  // Restore: refused while the scheduler holds the store, naming it.
  const busy = await sluice(t, ['restore', backup, '--db', db, '--force']);
  t.not(busy.code, 0, 'refused while a scheduler runs on the store');
  t.match(busy.output, `the store ${db} is in use by sluice scheduler, pid ${scheduler.proc.pid}`);
  await scheduler.proc.stop('SIGTERM');

  // Refused over an existing store without --force; done with it.
  const exists = await sluice(t, ['restore', backup, '--db', db]);
  t.not(exists.code, 0);
  t.match(exists.output, /a store exists at .*: --force replaces it/);
  const restored = await sluice(t, ['restore', backup, '--db', db, '--force']);
  t.equal(restored.code, 0, `sluice restore: ${restored.output}`);
  const again = await startScheduler(t, { db });
  t.same(await drain(again.url, 'load'), ids, 'the restored store holds what the backup held');
});

t.test('restore refuses a damaged backup, and what is not a sluice store, changing nothing', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sluice.db');
  const first = await startScheduler(t, { db });
  for (let i = 0; i < 20; i++) t.equal((await api(first.url).post('/queues/q/put', { items: Array.from({ length: 100 }, (_, j) => ({ i, j, pad: 'q'.repeat(300) })) })).status, 201);
  const backup = join(dir, 'backup.db');
  t.equal((await sluice(t, ['backup', '--db', db, backup])).code, 0, 'a live backup');
  await first.proc.stop('SIGTERM');

  const damaged = join(dir, 'damaged.db');
  copyFileSync(backup, damaged);
  const fd = openSync(damaged, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(statSync(damaged).size / 4096 / 2) * 4096);
  closeSync(fd);
  const sizeBefore = statSync(db).size;
  const refused = await sluice(t, ['restore', damaged, '--db', db, '--force']);
  t.not(refused.code, 0);
  t.match(refused.output, `the backup ${damaged} is damaged`);
  t.equal(statSync(db).size, sizeBefore, 'the store was not touched');

  const notStore = join(dir, 'other.db');
  const other = new (await import('better-sqlite3')).default(notStore);
  other.exec('CREATE TABLE t (x)');
  other.close();
  const foreign = await sluice(t, ['restore', notStore, '--db', db, '--force']);
  t.not(foreign.code, 0);
  t.match(foreign.output, 'is not a sluice store');

  const missing = await sluice(t, ['backup', '--db', join(dir, 'nothing-here.db'), join(dir, 'out.db')]);
  t.not(missing.code, 0);
  t.match(missing.output, 'no store at');
});
