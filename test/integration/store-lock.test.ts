// One process per store: a second scheduler (or `sluice up`) on the same
// SQLite file is refused before it binds its port, with a message naming the
// file and the holder; a kill -9 of the holder leaves nothing that blocks a
// restart.
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { api, startScheduler, tempDir } from '../helpers/cluster.ts';
import { freePort, Proc, type Teardown } from '../helpers/processes.ts';


/** Run a sluice command to its end; it is killed at teardown if it does not end. */
async function run(t: Teardown, args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = new Proc(args);
  t.teardown(() => proc.stop('SIGKILL'));
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.lines.join('\n') };
}

t.test('a second scheduler on the same store is refused before it listens, naming the file and the holder', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const first = await startScheduler(t, { db });
  t.equal((await api(first.url).post('/queues/one/put', { item: 'kept' })).status, 201);

  for (const command of [['scheduler'], ['up', '--workers', '0']]) {
    const port = await freePort();
    const second = await run(t, [...command, '--insecure', '--port', String(port), '--db', db]);
    t.not(second.code, 0, `sluice ${command[0]}: exits non-zero`);
    t.match(second.output, `the store ${db} is in use by sluice scheduler, pid ${first.proc.pid} on host ${hostname()}`, `sluice ${command[0]}: the message names the file and the holder`);
    t.match(second.output, /since \d{4}-\d\d-\d\dT/, 'and since when');
    t.notMatch(second.output, /Server listening|sluice scheduler ready/, 'it never listened');
  }
  t.same((await api(first.url).get('/queues/one')).body.size, 1, 'the first goes on serving, its store untouched');
});

t.test('after a kill -9 of the holder, a restart takes the store at once', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const first = await startScheduler(t, { db });
  t.equal((await api(first.url).post('/queues/kept/put', { item: 'kept' })).status, 201);
  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db, port: first.port });
  t.same((await api(second.url).post('/queues/kept/get?timeout=0')).body, { items: ['kept'] });
  await second.proc.stop('SIGTERM');
  const third = await startScheduler(t, { db, port: first.port });
  t.equal((await api(third.url).get('/queues/kept')).status, 200, 'and after a graceful stop too');
});

t.test('databases in memory are private: no lock', async (t) => {
  const a = await startScheduler(t, { db: ':memory:' });
  const b = await startScheduler(t, { db: ':memory:' });
  t.equal((await api(a.url).post('/queues/q/put', { item: 1 })).status, 201);
  t.equal((await api(b.url).get('/queues/q')).status, 404, 'each has its own');
});
