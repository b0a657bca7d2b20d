// The TypeScript client against the real scheduler and workers.
import t from 'tap';
import { asCompleted, CancelledError, Client, Future, SluiceError, TaskError, TimeoutError, wait } from '../../client/index.ts';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';

const scheduler = await startScheduler(t);
await startWorker(t, scheduler.url, { concurrency: 2, name: 'client-test-worker' });
const client = await Client.connect(scheduler.url);
t.teardown(() => client.close());
const http = api(scheduler.url);

t.test('submit returns a Future at once; awaiting it gives the result', async (t) => {
  const future = client.submit<number>('inc', [10]);
  t.type(future, Future);
  t.equal(future.status, 'pending');
  t.match(future.key, /^inc-[0-9a-f]{32}$/, 'the key is known before anything is sent');
  t.equal(await future, 11);
  t.equal(future.status, 'finished');
  t.ok(future.done());
  t.equal(await future.result({ timeoutMs: 1000 }), 11);
  t.equal(await future.exception(), null);
  t.equal(await future.traceback(), null);
  const again = client.submit<number>('inc', [10]);
  t.equal(again.key, future.key, 'a pure submission shares its key with an identical one');
  const fresh = client.submit<number>('inc', [10], { pure: false });
  t.not(fresh.key, future.key);
  t.equal(await fresh, 11);
  const server = await http.get(`/futures/${future.key}`);
  t.equal(server.body.result, 11, 'the client derives the same key the scheduler stores');
});

t.test('a second client submitting a task that already ended gets its outcome', async (t) => {
  const first = await Client.connect(scheduler.url);
  t.equal(await first.submit<number>('inc', [41]), 42);
  t.type(await first.submit('fail', ['ended before the second client came']).exception(), TaskError);
  await first.close();

  const second = await Client.connect(scheduler.url);
  t.teardown(() => second.close());
  const again = second.submit<number>('inc', [41]);
  t.equal(await again.result({ timeoutMs: 10_000 }), 42, 'the finished result, not run again');
  const erred = await second.submit('fail', ['ended before the second client came']).exception({ timeoutMs: 10_000 });
  t.type(erred, TaskError);
  t.match(erred?.message, /ended before the second client came/);
});

t.test('map, gather, asCompleted, wait', async (t) => {
  const futures = client.map<number>('inc', [[1], [2], [3]]);
  t.same(await client.gather(futures), [2, 3, 4]);
  const slow = client.submit('sleep', [300, 'slow'], { pure: false });
  const fast = client.submit('sleep', [10, 'fast'], { pure: false });
  const order: unknown[] = [];
  for await (const done of asCompleted([slow, fast])) order.push(await done);
  t.same(order, ['fast', 'slow'], 'in the order they end');
  const a = client.submit('sleep', [2000, 'a'], { pure: false });
  const b = client.submit('sleep', [10, 'b'], { pure: false });
  const first = await wait([a, b], { returnWhen: 'FIRST_COMPLETED', timeoutMs: 10_000 });
  t.equal(first.done.size, 1);
  await t.rejects(wait([a], { timeoutMs: 20 }), TimeoutError);
  await a.cancel();
});

t.test('a Future as an argument is a dependency', async (t) => {
  const x = client.submit<number>('inc', [1]);
  const y = client.submit<number>('add', [x, 10]);
  const z = client.submit<unknown[]>('echo', [{ list: [x, y] }]);
  t.equal(await y, 12);
  t.same(await z, [{ list: [2, 12] }]);
});

t.test('errors: result rejects with a TaskError carrying the remote name, message and traceback', async (t) => {
  const future = client.submit('fail', ['broken on purpose']);
  const error = await future.exception();
  t.type(error, TaskError);
  t.equal(error?.name, 'TypeError');
  t.equal(error?.message, 'broken on purpose');
  t.match(await future.traceback(), /at fail \(/);
  await t.rejects(future.result(), { name: 'TypeError', message: 'broken on purpose' });
  const thrown = await (async () => await future)().catch((e: unknown) => e);
  t.ok(thrown instanceof TaskError, 'awaiting the future throws the TaskError');
  const dependent = client.submit('inc', [future]);
  await t.rejects(dependent.result(), { message: 'broken on purpose', key: future.key });
  t.equal(future.status, 'error');
});

t.test('retries and timeouts', async (t) => {
  const flaky = client.submit<number>('flaky', [2], { retries: 2, pure: false });
  t.equal(await flaky, 3, 'succeeds on the third attempt');
  const hung = client.submit('hang', [], { timeoutMs: 200, pure: false });
  await t.rejects(hung.result(), { name: 'TimeoutError', message: /exceeded its time limit of 200 ms/ });
  t.equal(await client.submit('inc', [5], { pure: false }), 6, 'the worker slot was given back');
});

t.test('bad input rejects only the bad futures, with a clear error', async (t) => {
  const good = client.submit<number>('inc', [1], { pure: false });
  const bad = client.submit('inc', [], { key: 'has space' });
  const unknownDep = client.submit('inc', [{ $future: 'not-a-key' }]);
  t.equal(await good, 2);
  await t.rejects(bad.result(), { name: 'SluiceError', code: 'SLUICE_ERR_VALIDATION', message: /body\.tasks\[0\]\.key/ });
  await t.rejects(unknownDep.result(), SluiceError);
  await t.rejects(unknownDep.result(), { code: 'SLUICE_ERR_UNKNOWN_KEY', message: /unknown key: not-a-key/ });
});

t.test('cancel, addDoneCallback, and a Future for a known key', async (t) => {
  const long = client.submit('hang', [], { pure: false });
  const seen: string[] = [];
  long.addDoneCallback((f) => seen.push(f.status));
  t.equal(await long.cancel(), 'cancelled');
  await t.rejects(long.result(), CancelledError);
  t.same(seen, ['cancelled']);

  const other = await Client.connect(scheduler.url);
  t.teardown(() => other.close());
  const made = client.submit<number>('inc', [99], { pure: false });
  await made;
  const known = new Future<number>(made.key, other);
  t.equal(await known, 100, 'another client reads a key it did not submit');
  await t.rejects(new Future('never-submitted', other).result(), { code: 'SLUICE_ERR_UNKNOWN_KEY' });
});

t.test('getClient inside a task, and secede: tasks waiting on subtasks do not deadlock the worker', async (t) => {
  // Two parents fill both slots; without secede their subtasks could never run.
  const parents = [client.submit<number>('fanOut', [10], { pure: false }), client.submit<number>('fanOut', [5], { pure: false })];
  t.same(await Promise.all(parents.map((p) => p.result({ timeoutMs: 20_000 }))), [55, 15], 'sums of inc(0..n-1)');
});

t.test('close ends the session and releases pending work', async (t) => {
  const short = await Client.connect(scheduler.url);
  const pending = short.submit('hang', [], { pure: false });
  await short.flush();
  t.equal((await http.get(`/futures/${pending.key}`)).body.status, 'pending');
  await short.close();
  await t.rejects(pending.result(), { code: 'SLUICE_ERR_CLOSED' });
  const after = await http.get(`/futures/${pending.key}/result?timeout=5`);
  t.match(after.body, { status: 'cancelled', error: { message: 'released by every holder before it finished' } });
  t.throws(() => short.submit('inc', [1]), { code: 'SLUICE_ERR_CLOSED' });
});

t.test('connect to nothing fails fast with a clear error', async (t) => {
  await t.rejects(Client.connect('http://127.0.0.1:9', { connectTimeoutMs: 500 }), { code: 'SLUICE_ERR_UNREACHABLE' });
});
