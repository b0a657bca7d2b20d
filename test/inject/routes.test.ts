// Routes and services in process (test/helpers/in-process.ts): bad input is
// a 400 naming the field, and a round trip through each service answers
// what was stored.
import t from 'tap';
import { inProcessApp } from '../helpers/in-process.ts';

t.test('bad input is a 400 SLUICE_ERR_VALIDATION naming the field, and stores nothing', async (t) => {
  const { call } = await inProcessApp(t);
  const cases: Array<[string, string, unknown, string, RegExp]> = [
    ['POST', '/tasks', { fn: 7 }, 'body.fn', /expected string/],
    ['POST', '/tasks', { tasks: [{ fn: 'inc', retries: -1 }] }, 'body.tasks[0].retries', />=0/],
    ['PUT', '/variables/v', {}, 'body.value', /value is required/],
    ['PUT', '/channels/c/consumers/reader', { seq: 'one' }, 'body.seq', /expected number/],
    ['POST', '/locks/l/acquire', { ttlMs: -5 }, 'body.ttlMs', />=100/],
    ['POST', '/queues/q/put', { items: 'x' }, 'body', /unknown field "items"/],
  ];
  for (const [method, url, body, field, message] of cases) {
    const { status, body: answer } = await call(method as 'POST', url, body);
    t.equal(status, 400, `${method} ${url} ${JSON.stringify(body)}: 400`);
    t.equal(answer.error.code, 'SLUICE_ERR_VALIDATION');
    t.match(answer.error.message, field, `the message names ${field}`);
    t.match(answer.error.details.issues, [{ path: field, message }], `the issues name ${field}`);
  }
  t.equal((await call('GET', '/variables/v')).status, 404, 'no variable was set');
  t.same((await call('GET', '/queues')).body, [], 'no queue was made');
  t.same((await call('GET', '/locks/l')).body.leases, [], 'no lock was taken');
});

t.test('a task submitted without a worker is pending, and says why', async (t) => {
  const { call } = await inProcessApp(t);
  const submitted = await call('POST', '/tasks', { fn: 'inc', args: [1] });
  t.equal(submitted.status, 201);
  const { key } = submitted.body;
  const info = await call('GET', `/futures/${key}`);
  t.equal(info.status, 200);
  t.match(info.body, { key, fn: 'inc', status: 'pending', reason: /no connected worker/ });
  const result = await call('GET', `/futures/${key}/result?timeout=0`);
  t.equal(result.status, 408, 'its result is not there');
  t.equal((await call('GET', '/futures/no-such-key')).body.error.code, 'SLUICE_ERR_UNKNOWN_KEY');
});

t.test('a channel: append a key and new tasks, read them back in order', async (t) => {
  const { call } = await inProcessApp(t);
  const { key } = (await call('POST', '/tasks', { fn: 'inc', args: [1] })).body;
  const first = await call('POST', '/channels/c/append', { key });
  t.equal(first.status, 201);
  t.same(first.body, { seqs: [1], keys: [key] });
  const second = await call('POST', '/channels/c/append', { tasks: [{ fn: 'inc', args: [2] }, { fn: 'inc', args: [3] }] });
  t.same(second.body.seqs, [2, 3]);
  const read = await call('GET', '/channels/c');
  t.match(read.body, { name: 'c', length: 3, lastSeq: 3, stopped: false });
  t.same(
    read.body.futures.map((f: { seq: number; key: string; status: string }) => [f.seq, f.key, f.status]),
    [
      [1, key, 'pending'],
      [2, second.body.keys[0], 'pending'],
      [3, second.body.keys[1], 'pending'],
    ],
  );
  t.equal((await call('POST', '/channels/c/append', { key: 'no-such-key' })).status, 404, 'an unknown key is not appended');
  t.equal((await call('GET', '/channels/c')).body.length, 3);
});

t.test('a queue: put, look, get', async (t) => {
  const { call } = await inProcessApp(t);
  t.same((await call('POST', '/queues/q/put', { item: { n: 1 } })).body, { size: 1 });
  const put = await call('POST', '/queues/q/put', { items: [{ n: 2 }, 'three'] });
  t.equal(put.status, 201);
  t.same(put.body, { size: 3 });
  t.match((await call('GET', '/queues/q')).body, { size: 3 });
  // inject() imitates the connection: its replies are never judged written
  // (ReplyDeliveries), so a got item goes back to the front. Whether a get's
  // reply reached its caller is the real-process tier's (queues.test.ts).
  const got = await call('POST', '/queues/q/get?timeout=0&batch=2');
  t.equal(got.status, 200);
  t.same(got.body, { items: [{ n: 1 }, { n: 2 }] }, 'from the front, in order');
  t.equal((await call('POST', '/queues/empty/get?timeout=0')).status, 408, 'an empty queue: 408 at once with timeout=0');
});

t.test('a variable: set, get, set again, delete', async (t) => {
  const { call } = await inProcessApp(t);
  t.equal((await call('GET', '/variables/v')).body.error.code, 'SLUICE_ERR_VARIABLE_UNSET');
  const set = await call('PUT', '/variables/v', { value: { a: [1, 2] } });
  t.equal(set.status, 200);
  t.same(set.body, { name: 'v', value: { a: [1, 2] } });
  t.same((await call('GET', '/variables/v')).body, { name: 'v', value: { a: [1, 2] } });
  await call('PUT', '/variables/v', { value: 'second' });
  t.same((await call('GET', '/variables/v')).body, { name: 'v', value: 'second' });
  t.equal((await call('DELETE', '/variables/v')).status, 204);
  t.equal((await call('GET', '/variables/v')).status, 404);
});
