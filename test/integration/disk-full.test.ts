// A full disk, for real: the store lives on a small tmpfs that a filler file
// fills up. Writes are answered 507 SLUICE_ERR_STORAGE (and nothing of them
// is stored), reads go on, the scheduler stays up; once the filler is
// deleted, writes resume by themselves, and after a restart every write
// acknowledged before, during and after is there, and none that was refused.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { api, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { sleep, type Teardown, waitFor } from '../helpers/processes.ts';

/** Mount a tmpfs of `size` at a fresh directory; undefined where mounting is not allowed. */
function mountTmpfs(t: Teardown, size: string): string | undefined {
  const dir = join(tempDir(t), 'small-disk');
  mkdirSync(dir);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch {
    return undefined;
  }
  // Lazily: whatever still has a file open there lets go when it exits.
  t.teardown(() => execFileSync('umount', ['-l', dir], { stdio: 'pipe' }));
  return dir;
}

/** Write zeros to `path` until the disk is full. */
function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

const pad = 'x'.repeat(32 * 1024);

t.test('disk full: writes 507, reads 200, the scheduler stays up; writes resume when space returns; nothing acknowledged is lost', async (t) => {
  const disk = mountTmpfs(t, '12m');
  if (!disk) {
    t.plan(0, 'mounting a tmpfs is not allowed here (it needs root, or CAP_SYS_ADMIN): the full-disk test did not run');
    return;
  }
  const db = join(disk, 'sluice.db');
  const first = await startScheduler(t, { db });
  const curl = api(first.url);

  // Acknowledged before the disk fills: queue items, a variable, tasks (no worker runs them), a channel entry.
  const acked: number[] = [];
  let n = 0;
  const put = async (at: string = first.url): Promise<{ status: number; body: any }> => {
    const id = n++;
    const answer = await api(at).post('/queues/full/put', { item: { id, pad } });
    if (answer.status === 201) acked.push(id);
    return answer;
  };
  for (let i = 0; i < 5; i++) t.equal((await put()).status, 201);
  t.equal((await curl.put('/variables/kept', { value: 'before' })).status, 200);
  t.equal((await curl.post('/tasks', { tasks: [{ fn: 'inc', args: [1], key: 'kept-task' }] })).status, 201);
  t.equal((await curl.post('/channels/kept/append', { keys: ['kept-task'] })).status, 201);
  // A worker runs what is submitted, before and after.
  await startWorker(t, first.url, { concurrency: 2 });
  t.same((await curl.get('/futures/kept-task/result?timeout=30')).body, { key: 'kept-task', status: 'finished', result: 2 });

  // A lease that nobody renews: it lapses while writes are refused, and its release cannot be written.
  t.equal((await curl.post('/locks/lapsing/acquire', { ttlMs: 1000 })).status, 200);

  const filler = join(disk, 'filler');
  t.ok(fillUp(filler) > 0, 'the disk is full');

  // Puts go on until a commit needs room there is not: that one is answered 507 with the code.
  let refused: { status: number; body: any } | undefined;
  for (let i = 0; i < 400 && !refused; i++) {
    const answer = await put();
    if (answer.status === 507) refused = answer;
    else if (answer.status !== 201 && answer.status !== 503) t.fail(`unexpected answer ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  t.ok(refused, `a put was refused once the disk was full (${acked.length} acknowledged in all)`);
  t.equal(refused?.body.error.code, 'SLUICE_ERR_STORAGE');
  t.match(refused?.body.error.message, /nothing of this request was stored|nothing was stored/);

  // From now on every write is refused before it changes anything; reads are served from what is on disk.
  const refusedWrite = await waitFor(async () => {
    const answer = await curl.put('/variables/kept', { value: 'during' });
    return answer.status === 507 ? answer : undefined;
  }, 'writes to be refused with 507', 30_000);
  t.equal(refusedWrite.body.error.code, 'SLUICE_ERR_STORAGE');
  t.equal(refusedWrite.headers.get('retry-after'), '5', 'with Retry-After');
  t.equal((await curl.post('/tasks', { tasks: [{ fn: 'inc', args: [2], key: 'refused-task' }] })).status, 507);
  const size = await waitFor(async () => {
    const answer = await curl.get('/queues/full');
    return answer.status === 200 ? answer.body.size : undefined;
  }, 'the queue to be readable', 30_000);
  t.equal(size, acked.length, 'reads: the queue holds what was acknowledged, and nothing refused');
  t.same((await curl.get('/variables/kept')).body, { name: 'kept', value: 'before' }, 'reads: the variable as last acknowledged');
  t.same((await curl.get('/futures/kept-task/result?timeout=0')).body.result, 2, 'reads: the task’s result');
  t.equal((await curl.get('/futures/refused-task')).status, 404, 'the refused task was not stored');
  t.equal((await curl.get('/channels/kept')).body.length, 1, 'reads: the channel');
  // The store is asked every second whether it takes writes again: not while the disk is full.
  await sleep(2500);
  t.equal((await curl.put('/variables/kept', { value: 'still during' })).status, 507, 'still refused while the disk is full');
  t.ok(first.proc.running, 'the scheduler is still up');
  t.notOk(first.proc.lines.some((line) => line.includes('"level":60')), 'and logged nothing fatal');

  t.ok(
    first.proc.lines.some((line) => line.includes('lease expired') || line.includes('lapse')),
    'the lease lapsed while writes were refused (its release was not written)',
  );

  // Space comes back: writes resume by themselves, after one more rebuild (the lapse is in memory only).
  unlinkSync(filler);
  await waitFor(async () => (await put()).status === 201, 'writes to resume once the filler is gone', 30_000);
  t.ok(
    first.proc.lines.some((line) => line.includes('memory holds changes that could not be written')),
    'rebuilt from disk once more before letting writes in',
  );
  t.equal((await curl.put('/variables/kept', { value: 'after' })).status, 200);
  t.equal((await curl.post('/tasks', { tasks: [{ fn: 'inc', args: [41], key: 'after-task' }] })).status, 201);
  t.same((await curl.get('/futures/after-task/result?timeout=60')).body.result, 42, 'the worker came back and ran a task submitted after');
  t.equal((await curl.post('/channels/kept/append', { keys: ['kept-task'] })).status, 201);
  for (let i = 0; i < 3; i++) t.equal((await put()).status, 201);

  // A restart reads back exactly what was acknowledged.
  t.equal((await first.proc.stop('SIGTERM')).code, 0, 'a graceful stop');
  const second = await startScheduler(t, { db, port: first.port });
  const again = api(second.url);
  const ids: number[] = [];
  for (;;) {
    const answer = await again.post('/queues/full/get?batch=100&timeout=0');
    if (answer.status !== 200) break;
    ids.push(...answer.body.items.map((item: { id: number }) => item.id));
  }
  t.same(ids, acked, 'every acknowledged item, once, in order, and no refused one');
  t.same((await again.get('/variables/kept')).body, { name: 'kept', value: 'after' });
  t.same((await again.get('/futures/kept-task/result?timeout=0')).body.result, 2);
  t.same((await again.get('/futures/after-task/result?timeout=0')).body.result, 42);
  t.equal((await again.get('/channels/kept')).body.length, 2);
});

t.test('a store whose data fits its disk never fills it with its own WAL', async (t) => {
  // Puts and gets of one item at a time: the data stays a few pages, but every
  // commit adds frames to the WAL, which is folded into the database only
  // every few thousand pages unless the disk runs short.
  const disk = mountTmpfs(t, '8m');
  if (!disk) {
    t.plan(0, 'mounting a tmpfs is not allowed here (it needs root, or CAP_SYS_ADMIN): the full-disk test did not run');
    return;
  }
  const scheduler = await startScheduler(t, { db: join(disk, 'sluice.db') });
  const curl = api(scheduler.url);
  let failed: string | undefined;
  for (let i = 0; i < 1500 && !failed; i++) {
    const put = await curl.post('/queues/churn/put', { item: { i, pad } });
    const got = put.status === 201 ? await curl.post('/queues/churn/get?timeout=5') : undefined;
    if (put.status !== 201 || got?.status !== 200) failed = `round ${i}: put ${put.status}, get ${got?.status}: ${JSON.stringify(put.status !== 201 ? put.body : got?.body)}`;
  }
  t.equal(failed, undefined, '1,500 puts and gets of 32 KiB items on an 8 MiB disk all succeed');
});

t.test('space that returns and disappears again, many times: writes resume every time, and nothing acknowledged is lost', async (t) => {
  const disk = mountTmpfs(t, '12m');
  if (!disk) {
    t.plan(0, 'mounting a tmpfs is not allowed here (it needs root, or CAP_SYS_ADMIN): the full-disk test did not run');
    return;
  }
  const db = join(disk, 'sluice.db');
  const first = await startScheduler(t, { db });
  const acked: number[] = [];
  let n = 0;
  const put = async (): Promise<number> => {
    const id = n++;
    const answer = await api(first.url).post('/queues/flap/put', { item: { id, pad } });
    if (answer.status === 201) acked.push(id);
    else if (answer.status !== 507 && answer.status !== 503) t.fail(`unexpected answer ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.status;
  };
  const filler = join(disk, 'filler');
  // Another program takes every byte the disk has free, lets go of it, and takes it again.
  for (let round = 0; round < 12; round++) {
    fillUp(filler);
    await waitFor(async () => (await put()) === 507, `round ${round}: a write to be refused on the full disk`, 30_000);
    // The disk stays full while the scheduler rebuilds from disk (reads are served again) and a probe or two find no room.
    await waitFor(async () => (await api(first.url).get('/queues')).status === 200, `round ${round}: reads to be served`, 30_000);
    await sleep(1500);
    unlinkSync(filler);
    await waitFor(async () => (await put()) === 201, `round ${round}: writes to resume once the filler is gone`, 30_000);
    for (let i = 0; i < 12; i++) await put();
  }
  t.pass('writes resumed after each of 12 fills');
  t.ok(first.proc.running, 'the scheduler stayed up');

  t.equal((await first.proc.stop('SIGTERM')).code, 0, 'a graceful stop');
  const second = await startScheduler(t, { db, port: first.port });
  const ids: number[] = [];
  for (;;) {
    const answer = await api(second.url).post('/queues/flap/get?batch=100&timeout=0');
    if (answer.status !== 200) break;
    ids.push(...answer.body.items.map((item: { id: number }) => item.id));
  }
  t.same(ids, acked, 'every acknowledged item, once, in order, and no refused one');
});
