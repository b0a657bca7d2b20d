// What survives kill -9 of the scheduler: queue items and configuration, variables, flags, locks and
// semaphores with their fencing tokens, the futures they hold; and clients carry on across the restart.
import { join } from 'node:path';
import t from 'tap';
import { Client } from '../../client/index.ts';
import { api, startScheduler, tempDir } from '../helpers/cluster.ts';
import { primitivesSurviveKill, putsSurviveKill } from '../helpers/durability-checks.ts';
import { waitFor } from '../helpers/processes.ts';

t.test('kill -9: every acknowledged write of every primitive is there after the restart', (t) => primitivesSurviveKill(t, join(tempDir(t), 'coordination.db')));

t.test('every acknowledged put survives kill -9 in the middle of a burst, once, in order', (t) => putsSurviveKill(t, join(tempDir(t), 'burst.db')));

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
