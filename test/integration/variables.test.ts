// Variables and flags (Dask's Variable and Event) against the real scheduler.
import t from 'tap';
import { Client, Future, TimeoutError } from '../../client/index.ts';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

const scheduler = await startScheduler(t, { args: ['--retention-ms', '300'], env: { SLUICE_SWEEP_INTERVAL_MS: '50' } });
await startWorker(t, scheduler.url, { concurrency: 4 });
const curl = api(scheduler.url);

function pending<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { promise, settled: () => settled };
}

t.test('set, get, overwrite, delete', async (t) => {
  const unset = await curl.get('/variables/config');
  t.equal(unset.status, 404);
  t.match(unset.body.error, { code: 'SLUICE_ERR_VARIABLE_UNSET', message: /variable config is not set/ });
  t.same((await curl.put('/variables/config', { value: { retries: 3 } })).body, { name: 'config', value: { retries: 3 } });
  t.same((await curl.get('/variables/config')).body, { name: 'config', value: { retries: 3 } });
  await curl.put('/variables/config', { value: null });
  t.same((await curl.get('/variables/config')).body, { name: 'config', value: null }, 'null is a value, not unset');
  t.equal((await curl.delete('/variables/config')).status, 204);
  t.equal((await curl.get('/variables/config')).status, 404);
  t.equal((await curl.delete('/variables/config')).status, 204, 'deleting an unset variable is fine');
});

t.test('get waits until the variable is set, or answers 408', async (t) => {
  const started = Date.now();
  const late = await curl.get('/variables/later?timeout=0.3');
  t.equal(late.status, 408);
  t.ok(Date.now() - started >= 280);
  const readers = [1, 2, 3].map(() => pending(curl.get('/variables/later?timeout=20')));
  await new Promise((r) => setTimeout(r, 200));
  t.notOk(readers.some((r) => r.settled()), 'they wait while it is unset');
  await curl.put('/variables/later', { value: 'now' });
  for (const reader of readers) t.same((await reader.promise).body, { name: 'later', value: 'now' }, 'every waiter is answered');

  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());
  const variable = client.variable<number>('client-later');
  const waiting = pending(variable.get());
  await new Promise((r) => setTimeout(r, 200));
  t.notOk(waiting.settled());
  await client.variable<number>('client-later').set(42);
  t.equal(await waiting.promise, 42);
  await t.rejects(client.variable('never-set').get({ timeoutMs: 200 }), TimeoutError);
});

t.test('a future in a variable is held; readers get a Future; overwriting lets go of the old one', async (t) => {
  const writer = await Client.connect(scheduler.url);
  const future = writer.submit<string>('sleep', [300, 'slept'], { pure: false });
  await writer.variable<Future<string>>('result').set(future);
  await writer.close(); // its hold goes: the variable's keeps the task
  t.match((await curl.get(`/futures/${future.key}`)).body, { status: 'pending' }, 'not cancelled: the variable holds it');

  const reader = await Client.connect(scheduler.url);
  t.teardown(() => reader.close());
  const { value } = await reader.variable<Future<string>>('result').read();
  t.type(value, Future, 'read() gives the Future object');
  t.equal(value.key, future.key);
  t.equal(await value, 'slept');
  t.equal(await reader.variable<Future<string>>('result').get(), 'slept', 'get() gives its result');

  await curl.post('/scatter', { data: 'old', key: 'variable-old' });
  await curl.put('/variables/swapped', { value: { current: { $future: 'variable-old' } } });
  await new Promise((r) => setTimeout(r, 600));
  t.equal((await curl.get('/futures/variable-old')).status, 200, 'held past the 300 ms retention');
  await curl.post('/scatter', { data: 'new', key: 'variable-new' });
  t.equal((await curl.put('/variables/swapped', { value: { current: { $future: 'variable-new' } } })).status, 200);
  await waitFor(async () => (await curl.get('/futures/variable-old')).status === 404, 'the replaced value to be forgotten');
  await new Promise((r) => setTimeout(r, 600));
  t.equal((await curl.get('/futures/variable-new')).status, 200, 'the new value is held');
  await curl.put('/variables/swapped', { value: { again: { $future: 'variable-new' } } });
  await new Promise((r) => setTimeout(r, 600));
  t.equal((await curl.get('/futures/variable-new')).status, 200, 'a key in the old and the new value stays held');
  await curl.delete('/variables/swapped');
  await waitFor(async () => (await curl.get('/futures/variable-new')).status === 404, 'the deleted variable’s value to be forgotten');
});

t.test('bad input: 400 naming the field, 404 naming the key; nothing changes', async (t) => {
  await curl.put('/variables/guarded', { value: 1 });
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['/variables/guarded', {}, 400, /body\.value: value is required/],
    ['/variables/guarded', { value: 2, extra: 1 }, 400, /unknown field "extra"/],
    ['/variables/guarded', { value: { $future: 'no-such-key' } }, 404, /unknown key: no-such-key/],
    ['/variables/guarded', { value: 2, fence: { lock: 'l', token: 0 } }, 400, /body\.fence\.token/],
    ['/variables/guarded', { value: 2, fence: { lock: 'no-lease-here', token: 1 } }, 409, /fencing token 1 of lock no-lease-here is not held/],
    ['/variables/bad name', { value: 2 }, 400, /params\.name: a variable name is 1 to 128 characters/],
  ];
  for (const [path, body, status, message] of cases) {
    const answer = await curl.put(path, body);
    t.equal(answer.status, status, path);
    t.match(answer.body.error.message, message, path);
  }
  t.same((await curl.get('/variables/guarded')).body.value, 1, 'the variable is as it was');
  t.equal((await curl.get('/variables/guarded?timeout=x')).status, 400);
});

t.test('flags (Dask’s Event): set wakes every waiter; clear makes later waits wait', async (t) => {
  t.same((await curl.get('/flags/go')).body, { name: 'go', set: false }, 'a flag never set is clear');
  const waiters = [1, 2, 3].map(() => pending(curl.get('/flags/go?timeout=20')));
  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());
  const event = client.event('go');
  const clientWait = pending(event.wait());
  await new Promise((r) => setTimeout(r, 200));
  t.notOk(waiters.some((w) => w.settled()) || clientWait.settled(), 'everyone waits while it is clear');
  t.same((await curl.post('/flags/go/set')).body, { name: 'go', set: true });
  for (const waiter of waiters) t.same((await waiter.promise).body, { name: 'go', set: true });
  t.equal(await clientWait.promise, true);
  t.equal(await event.isSet(), true);
  t.equal(await event.wait({ timeoutMs: 0 }), true, 'a set flag answers at once');
  await event.clear();
  t.equal(await event.isSet(), false);
  t.equal(await event.wait({ timeoutMs: 200 }), false, 'as Dask’s Event.wait: false on timeout');
  const late = await curl.get('/flags/go?timeout=0.2');
  t.equal(late.status, 408);
  t.match(late.body.error.message, /flag go to be set/);
  t.equal((await curl.post('/flags/bad name/set')).status, 400);
});
