// A store with damaged pages is refused at start, with a message that names
// the file and says what to do; a sound one starts. (Damaged pages that a
// start does not read used to go unnoticed until a reader of the channel met
// them: 500s.)
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { api, startScheduler, tempDir } from '../helpers/cluster.ts';
import { Proc } from '../helpers/processes.ts';

const PAGE = 4096;

/**
 * Overwrite `count` leaf pages of a table in the middle of its b-tree with
 * bytes that are no SQLite page: the pages a start does not read, which a
 * reader of that data meets later (dbstat says where they are).
 */
function damage(path: string, table: string, count: number): number[] {
  const db = new Database(path, { readonly: true });
  const leaves = (db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno").pluck().all(table) as number[]);
  db.close();
  const pages = leaves.slice(Math.floor(leaves.length / 2), Math.floor(leaves.length / 2) + count);
  const junk = Buffer.alloc(PAGE);
  let x = 0x9e3779b9;
  for (let i = 0; i < junk.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    junk[i] = x & 0xff;
  }
  const fd = openSync(path, 'r+');
  try {
    for (const page of pages) writeSync(fd, junk, 0, PAGE, (page - 1) * PAGE);
  } finally {
    closeSync(fd);
  }
  return pages;
}

t.test('a store with damaged pages is refused at start, naming the file and what to do', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const first = await startScheduler(t, { db });
  const curl = api(first.url);
  // Values in a channel: enough rows that the middle of the file holds them,
  // their holds and the channel's entries, none of which a start reads.
  for (let batch = 0; batch < 10; batch++) {
    const keys = Array.from({ length: 2000 }, (_, i) => `k-${batch}-${i}`);
    t.equal((await curl.post('/scatter', { data: keys.map((key) => ({ key, pad: 'x'.repeat(100) })), keys })).status, 201);
    t.equal((await curl.post('/channels/damaged/append', { keys })).status, 201);
  }
  t.equal((await first.proc.stop('SIGTERM')).code, 0, 'stopped: everything is in the file itself');
  t.ok(statSync(db).size > 100 * PAGE, `the store is ${Math.round(statSync(db).size / 1024)} KiB`);

  const pages = damage(db, 'channel_entries', 3);
  t.equal(pages.length, 3, `damaged pages ${pages.join(', ')} of the channel's entries`);
  const second = new Proc(['scheduler', '--insecure', '--port', '0', '--db', db]);
  t.teardown(() => second.stop('SIGKILL'));
  const outcome = await Promise.race([
    second.exited.then((exit) => ({ exit })),
    second.waitForLog((entry) => entry.msg === 'sluice scheduler ready', 60_000).then((ready) => ({ ready }), () => ({ exit: { code: null } })),
  ]);
  if ('ready' in outcome) {
    const read = await api(outcome.ready.url as string).get('/channels/damaged?limit=50000');
    t.fail(`the damaged store was opened for service; reading the channel answered ${read.status}`);
    return;
  }
  const exit = outcome.exit;
  const output = second.lines.join('\n');
  t.not(exit.code, 0, `refused: exit code ${exit.code}`);
  t.match(output, `the store ${db} is damaged; it was not opened for service`, 'the message names the file');
  t.match(output, /SQLite's check found:\n\s+\S/, 'and what the check found');
  t.match(output, `sluice restore BACKUP --db ${db} --force`, 'and how to restore a backup');
  t.match(output, `sqlite3 ${db} .recover`, 'or salvage what can be read');
  t.notMatch(output, /Server listening|sluice scheduler ready/, 'it never listened');
});

t.test('a sound store starts, and says it was checked', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const first = await startScheduler(t, { db });
  t.equal((await api(first.url).post('/queues/q/put', { item: 1 })).status, 201);
  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db });
  t.ok(second.proc.lines.some((line) => line.includes('store checked: sound')), 'checked at start');
  t.same((await api(second.url).post('/queues/q/get?timeout=0')).body, { items: [1] });
});
