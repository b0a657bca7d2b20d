// What survives: kill -9 of the scheduler, restarts, retention and leases.
import { join } from 'node:path';
import t from 'tap';
import { Client, Future } from '../../client/index.ts';
import { api, createSession, readSse, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { appendsAndSetsSurviveKill, submissionsSurviveKill } from '../helpers/durability-checks.ts';
import { sleep, waitFor } from '../helpers/processes.ts';

t.test('kill -9 then restart: pending tasks complete, held results are readable, clients carry on', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const first = await startScheduler(t, { db });
  const http = api(first.url);

  // Results held by a client session.
  const worker = await startWorker(t, first.url, { concurrency: 4 });
  const client = await Client.connect(first.url, { retryForMs: 30_000 });
  t.teardown(() => client.close());
  const held = client.map<number>('inc', Array.from({ length: 20 }, (_, i) => [i]));
  t.same(await client.gather(held), Array.from({ length: 20 }, (_, i) => i + 1));
  await worker.stop('SIGKILL');

  // Pending work, with no worker to run it: anonymous submissions, a chain, and a client future.
  const anonymous = await http.post('/tasks', { tasks: Array.from({ length: 50 }, (_, i) => ({ fn: 'inc', args: [i * 10], pure: false })) });
  t.equal(anonymous.status, 201);
  const chain = await http.post('/tasks', {
    tasks: Array.from({ length: 10 }, (_, i) => ({ fn: 'inc', key: `survivor-${i}`, args: [i === 0 ? 0 : { $future: `survivor-${i - 1}` }] })),
  });
  t.equal(chain.status, 201);
  const waiting = client.submit<number>('add', [held[0], 1000]);
  await client.flush();
  t.equal((await http.get(`/futures/${waiting.key}`)).body.status, 'pending');

  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db, port: first.port });
  const again = api(second.url);

  for (const future of held) {
    const answer = await again.get(`/futures/${future.key}/result?timeout=0`);
    t.equal(answer.status, 200);
    t.equal(answer.body.status, 'finished');
  }
  t.match((await again.get('/futures/survivor-9')).body, { status: 'pending', state: 'waiting' });
  t.match((await again.get('/futures/survivor-0')).body, { status: 'pending', state: 'queued', reason: /no connected worker/ });

  await startWorker(t, second.url, { concurrency: 4 });
  const results = await again.post('/gather', { keys: anonymous.body.keys, timeout: 30 });
  t.same(results.body.results, Array.from({ length: 50 }, (_, i) => i * 10 + 1), 'every pending task ran after the restart');
  t.same((await again.get('/futures/survivor-9/result?timeout=30')).body.result, 10);
  t.equal(await waiting.result({ timeoutMs: 30_000 }), 1001, 'the client reconnected and heard the result');
  t.equal(await client.submit<number>('inc', [7], { pure: false }), 8, 'and goes on submitting');
});

t.test('every acknowledged submission survives kill -9 in the middle of a burst', (t) => submissionsSurviveKill(t, join(tempDir(t), 'sluice.db')));

t.test('every acknowledged append and variable set survives kill -9 in the middle of a burst', (t) => appendsAndSetsSurviveKill(t, join(tempDir(t), 'sluice.db')));

t.test('retention: an unheld result is forgotten after the retention period, and a 404 says so', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--retention-ms', '300'], env: { SLUICE_SWEEP_INTERVAL_MS: '50' } });
  await startWorker(t, scheduler.url);
  const http = api(scheduler.url);
  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());

  const anonymous = await http.post('/tasks', { fn: 'inc', args: [1], pure: false });
  const kept = client.submit<number>('inc', [2], { pure: false });
  t.equal(await kept, 3);
  t.equal((await http.get(`/futures/${anonymous.body.key}/result?timeout=10`)).body.result, 2);

  const forgotten = await waitFor(async () => {
    const answer = await http.get(`/futures/${anonymous.body.key}`);
    return answer.status === 404 ? answer : undefined;
  }, 'the anonymous result to be forgotten');
  t.equal(forgotten.body.error.code, 'SLUICE_ERR_FORGOTTEN');
  t.match(forgotten.body.error.message, /was forgotten: nothing held it and its retention period ended/);

  await sleep(600);
  t.equal((await http.get(`/futures/${kept.key}`)).body.result, 3, 'a held result outlives the retention period');
  kept.release();
  await client.flush();
  await waitFor(async () => (await http.get(`/futures/${kept.key}`)).status === 404, 'the released result to be forgotten');
  const dependent = await http.post('/tasks', { fn: 'inc', args: [{ $future: kept.key }] });
  t.equal(dependent.status, 404);
  t.match(dependent.body.error.message, /was forgotten.*\(a dependency of inc-/);

  // Closing a client lets go of everything it held at once: results it alone
  // held are forgotten, one that a channel holds too is kept.
  const leaving = await Client.connect(scheduler.url);
  const mine = leaving.map<number>('inc', [[10], [11], [12]], { pure: false });
  t.same(await leaving.gather(mine), [11, 12, 13]);
  t.equal((await http.post('/channels/keeps/append', { tasks: [{ fn: 'inc', args: [30], key: 'kept-by-a-channel' }] })).status, 201);
  t.equal(await leaving.submit<number>('inc', [30], { key: 'kept-by-a-channel' }), 31);
  await leaving.close();
  for (const future of mine) {
    await waitFor(async () => (await http.get(`/futures/${future.key}`)).status === 404, 'the closed client’s results to be forgotten');
  }
  await sleep(600);
  t.equal((await http.get('/futures/kept-by-a-channel')).body.result, 31, 'a result a channel still holds is kept');
});

t.test('a client whose stream is gone longer than its lease loses its holds', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--client-lease-ms', '1000'] });
  const http = api(scheduler.url);
  const { id, headers } = await createSession(scheduler.url);
  const session = api(scheduler.url, headers);
  const stream = await readSse(`${scheduler.url}/clients/${id}/events`, headers);
  await stream.until((events) => events.some((e) => e.event === 'ready'));
  const submitted = await session.post('/tasks', { fn: 'inc', args: [1], key: 'leased-task' });
  t.equal(submitted.status, 201);
  await sleep(500);
  t.match((await http.get('/futures/leased-task')).body, { status: 'pending' }, 'held while the stream is open');
  stream.close();
  const outcome = await http.get('/futures/leased-task/result?timeout=5');
  t.match(outcome.body, { status: 'cancelled', error: { message: 'released by every holder before it finished' } });
});

t.test('a Future held across a restart keeps its result', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const first = await startScheduler(t, { db, args: ['--retention-ms', '1'], env: { SLUICE_SWEEP_INTERVAL_MS: '50' } });
  await startWorker(t, first.url);
  const client = await Client.connect(first.url);
  t.teardown(() => client.close());
  const future = client.submit<number>('inc', [41], { pure: false });
  t.equal(await future, 42);
  await first.proc.stop('SIGKILL');
  const second = await startScheduler(t, { db, port: first.port, args: ['--retention-ms', '1'], env: { SLUICE_SWEEP_INTERVAL_MS: '50' } });
  await sleep(300);
  const other = new Future<number>(future.key, await Client.connect(second.url));
  t.equal(await other, 42, 'the client session still holds it, so the sweep left it');
  await (other.client as Client).close();
});
