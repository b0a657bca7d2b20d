// What survives kill -9 of the scheduler: queue items and configuration, variables, flags, locks and
// semaphores with their fencing tokens, the futures they hold; and clients carry on across the restart.
import { join } from 'node:path';
import t from 'tap';
import { Client } from '../../client/index.ts';
import { api, createSession, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

// A short retention, so that only holds can explain a result still being there after a while.
const SHORT_RETENTION = { args: ['--retention-ms', '300'], env: { SLUICE_SWEEP_INTERVAL_MS: '50' } };

t.test('kill -9: every acknowledged write of every primitive is there after the restart', async (t) => {
  const db = join(tempDir(t), 'coordination.db');
  const first = await startScheduler(t, { db, ...SHORT_RETENTION });
  const curl = api(first.url);
  const worker = await startWorker(t, first.url);
  await curl.post('/tasks', { fn: 'inc', args: [41], key: 'durable-done' });
  t.equal((await curl.get('/futures/durable-done/result?timeout=10')).body.result, 42);
  await worker.stop('SIGKILL');

  // A pending task that only the queue holds: its submitter's session lets go of it.
  const session = api(first.url, (await createSession(first.url)).headers);
  await session.post('/tasks', { fn: 'inc', args: [99], key: 'durable-pending' });
  t.equal((await session.put('/queues/durable', { maxsize: 10 })).status, 200);
  t.same((await session.post('/queues/durable/put', { items: ['taken before the kill', { n: 1 }, { $future: 'durable-done' }, { $future: 'durable-pending' }, 'last'] })).body, { size: 5 });
  await session.post('/futures/release', { keys: ['durable-pending'] });
  t.match((await curl.get('/futures/durable-pending')).body, { status: 'pending' }, 'the queue holds it');
  t.same((await curl.post('/queues/durable/get')).body, { items: ['taken before the kill'] });
  t.equal((await curl.get('/queues/durable')).body.size, 4);

  await curl.put('/variables/durable-future', { value: { $future: 'durable-done' } });
  await curl.put('/variables/durable-plain', { value: { list: [1, 2, 3] } });
  await curl.post('/flags/durable-flag/set');
  await curl.post('/flags/cleared-flag/set');
  await curl.post('/flags/cleared-flag/clear');
  const lock = (await curl.post('/locks/durable-lock/acquire', { ttlMs: 60_000, holder: 'before the kill' })).body;
  t.equal(lock.token, 1);
  await curl.post('/semaphores/durable-sem/acquire', { maxLeases: 2 });
  await curl.post('/topics/durable-topic/publish', { message: 'not persisted' });

  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db, port: first.port, ...SHORT_RETENTION });
  const again = api(second.url);
  await new Promise((r) => setTimeout(r, 800)); // past the retention: whatever is still there is held

  t.match((await again.get('/queues/durable')).body, { name: 'durable', size: 4, maxsize: 10 }, 'items and maxsize');
  t.equal((await again.get('/futures/durable-done')).body.result, 42, 'a result held by the queue and a variable outlives the retention');
  t.match((await again.get('/futures/durable-pending')).body, { status: 'pending' }, 'the pending task held by the queue was restored');
  await startWorker(t, second.url);
  t.equal((await again.get('/futures/durable-pending/result?timeout=20')).body.result, 100, 'and runs once a worker joins');
  t.same((await again.post('/queues/durable/get?batch=10')).body.items, [{ n: 1 }, { $future: 'durable-done' }, { $future: 'durable-pending' }, 'last'], 'in order; the taken item did not come back');

  t.same((await again.get('/variables/durable-future')).body.value, { $future: 'durable-done' });
  t.same((await again.get('/variables/durable-plain')).body.value, { list: [1, 2, 3] });
  t.same((await again.get('/flags/durable-flag')).body, { name: 'durable-flag', set: true });
  t.same((await again.get('/flags/cleared-flag')).body, { name: 'cleared-flag', set: false });

  t.match((await again.get('/locks/durable-lock')).body, { leases: [{ token: 1, holder: 'before the kill' }], lastToken: 1 }, 'the lease is still held');
  t.equal((await again.post('/locks/durable-lock/acquire?timeout=0')).status, 408);
  t.equal((await again.post('/locks/durable-lock/renew', { leaseId: lock.leaseId })).status, 200, 'its holder can renew it');
  t.equal((await again.post('/locks/durable-lock/release', { leaseId: lock.leaseId })).status, 204);
  t.equal((await again.post('/locks/durable-lock/acquire')).body.token, 2, 'fencing tokens carry on from where they were');
  t.match((await again.get('/semaphores/durable-sem')).body, { maxLeases: 2, lastToken: 1, leases: [{ token: 1 }] });
  t.same((await again.get('/topics/durable-topic')).body, { name: 'durable-topic', subscribers: 0, lastSeq: 0 }, 'topics are not persisted');
});

t.test('every acknowledged put survives kill -9 in the middle of a burst, once, in order', async (t) => {
  const db = join(tempDir(t), 'burst.db');
  const first = await startScheduler(t, { db });
  const acknowledged: Array<{ p: number; i: number }> = [];
  let cutOff = 0;
  const putters = Array.from({ length: 10 }, async (_, p) => {
    for (let i = 0; ; i++) {
      try {
        const answer = await fetch(`${first.url}/queues/burst/put`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ item: { p, i } }),
        });
        if (answer.status !== 201) throw new Error(`status ${answer.status}`);
        acknowledged.push({ p, i });
      } catch {
        cutOff++;
        return;
      }
    }
  });
  await waitFor(() => acknowledged.length >= 300, 'some acknowledged puts');
  first.proc.child.kill('SIGKILL');
  await Promise.all(putters);
  t.ok(cutOff > 0, `killed mid-burst: ${acknowledged.length} puts acknowledged`);

  const second = await startScheduler(t, { db, port: first.port });
  const items = (await api(second.url).post('/queues/burst/get?batch=10000&timeout=0')).body.items as Array<{ p: number; i: number }>;
  const seen = new Set(items.map((item) => `${item.p}:${item.i}`));
  t.equal(seen.size, items.length, 'no item twice');
  t.same(acknowledged.filter(({ p, i }) => !seen.has(`${p}:${i}`)), [], `all ${acknowledged.length} acknowledged puts are there`);
  for (let p = 0; p < 10; p++) {
    const mine = items.filter((item) => item.p === p).map((item) => item.i);
    t.same(mine, Array.from({ length: mine.length }, (_, i) => i), `putter ${p}'s items in the order it put them`);
  }
});

t.test('clients carry on across kill -9: a waiting get, a held lease, a subscription', async (t) => {
  const db = join(tempDir(t), 'clients.db');
  const first = await startScheduler(t, { db });
  const client = await Client.connect(first.url, { retryForMs: 60_000 });
  t.teardown(() => client.close());

  const waitingGet = client.queue<string>('carry-on').get();
  await waitFor(async () => (await api(first.url).get('/queues/carry-on')).body.getters === 1, 'the get to wait');
  const lease = await client.lock('carry-on-lock').acquire({ ttlMs: 9_000 });
  const subscription = await client.topic<string>('carry-on-topic').subscribe();
  await api(first.url).post('/topics/carry-on-topic/publish', { message: 'before' });
  t.same(await subscription.next(), { done: false, value: 'before' });

  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db, port: first.port });
  const again = api(second.url);
  const restored = (await again.get('/locks/carry-on-lock')).body.leases[0];
  t.equal(restored.token, lease.token, 'the lease was restored');

  await waitFor(async () => (await again.get('/queues/carry-on')).body?.getters === 1, 'the client’s get to come back');
  await again.post('/queues/carry-on/put', { item: 'after the restart' });
  t.equal(await waitingGet, 'after the restart', 'the get waiting across the kill got the item put after it');

  await waitFor(async () => (await again.get('/locks/carry-on-lock')).body.leases[0]?.expiresAt !== restored.expiresAt, 'a renewal after the restart', 20_000);
  t.ok(lease.held && !lease.signal.aborted, 'the lease was renewed across the restart and is still held');
  await lease.release();

  await waitFor(async () => (await again.get('/topics/carry-on-topic')).body.subscribers === 1, 'the subscription to reconnect');
  await again.post('/topics/carry-on-topic/publish', { message: 'after' });
  t.same(await subscription.next(), { done: false, value: 'after' });
  t.equal(subscription.gaps, 1, 'told that messages may have been missed across the restart');

  const variable = client.variable<number>('carry-on-var');
  await variable.set(7);
  t.equal(await variable.get(), 7, 'and goes on working');
});
