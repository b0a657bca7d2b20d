// Tasks and futures over plain HTTP, as a curl user or a Lambda sees them.
import { request } from 'node:http';
import t from 'tap';
import { api, createSession, readSse, startScheduler, startWorker } from '../helpers/cluster.ts';

const scheduler = await startScheduler(t);
await startWorker(t, scheduler.url, { concurrency: 4 });
const http = api(scheduler.url);

t.test('submit one task, read its result and its record', async (t) => {
  const submitted = await http.post('/tasks', { fn: 'inc', args: [10] });
  t.equal(submitted.status, 201);
  t.match(submitted.body.key, /^inc-[0-9a-f]{32}$/, 'a pure key is fn-<hash>');
  const result = await http.get(`/futures/${submitted.body.key}/result?timeout=10`);
  t.equal(result.status, 200);
  t.same(result.body, { key: submitted.body.key, status: 'finished', result: 11 });
  const info = await http.get(`/futures/${submitted.body.key}`);
  t.match(info.body, { key: submitted.body.key, fn: 'inc', status: 'finished', state: 'finished', result: 11, attempt: 1 });
  t.match(info.body.worker, /^test-worker-/);
  t.ok(Date.parse(info.body.finishedAt) >= Date.parse(info.body.submittedAt));
});

t.test('a batch, kwargs, and keys', async (t) => {
  const batch = await http.post('/tasks', {
    tasks: [
      { fn: 'echo', args: [1, 'two'], kwargs: { b: 2, a: 1 } },
      { fn: 'echo', args: [1, 'two'], kwargs: { a: 1, b: 2 } },
      { fn: 'echo', args: [3], pure: false },
      { fn: 'echo', args: [4], key: 'my-own-key' },
    ],
  });
  t.equal(batch.status, 201);
  const [k1, k2, k3, k4] = batch.body.keys;
  t.equal(k1, k2, 'identical submissions (kwargs in any order) share one key');
  t.match(k3, /^echo-[0-9a-f]{32}$/);
  t.equal(k4, 'my-own-key');
  const gathered = await http.post('/gather', { keys: [k1, k3, k4], timeout: 10 });
  t.same(gathered.body, { results: [[1, 'two', { a: 1, b: 2 }], [3], [4]] }, 'kwargs arrive as one last object argument');
  const again = await http.post('/tasks', { fn: 'echo', args: [3], pure: false });
  t.not(again.body.key, k3, 'pure: false gives a new key each time');
});

t.test('errors travel with name, message and traceback', async (t) => {
  const { body } = await http.post('/tasks', { fn: 'fail', args: ['it broke'] });
  const result = await http.get(`/futures/${body.key}/result?timeout=10`);
  t.equal(result.status, 200);
  t.equal(result.body.status, 'error');
  t.equal(result.body.error.name, 'TypeError');
  t.equal(result.body.error.message, 'it broke');
  t.match(result.body.error.traceback, /TypeError: it broke\n\s+at fail \(.*fixtures\/tasks\.ts/);
  t.notMatch(result.body.error.traceback, /worker\/runtime\.ts/, 'the runtime’s own frames are trimmed');
  const gather = await http.post('/gather', { keys: [body.key] });
  t.equal(gather.status, 422);
  t.equal(gather.body.error.code, 'SLUICE_ERR_TASK_FAILED');
  t.match(gather.body.error.message, new RegExp(`task ${body.key} ended with status error: TypeError: it broke`));
  const unserializable = await http.post('/tasks', { fn: 'unserializable' });
  const outcome = await http.get(`/futures/${unserializable.body.key}/result?timeout=10`);
  t.match(outcome.body.error, { name: 'TypeError', message: /cannot be sent as JSON/ });
});

t.test('a dependency chain of 100', async (t) => {
  const tasks = Array.from({ length: 100 }, (_, i) => ({
    fn: 'inc',
    key: `chain-${i}`,
    args: [i === 0 ? 0 : { $future: `chain-${i - 1}` }],
  }));
  t.equal((await http.post('/tasks', { tasks })).status, 201);
  const last = await http.get('/futures/chain-99/result?timeout=30');
  t.same(last.body, { key: 'chain-99', status: 'finished', result: 100 });
  const nested = await http.post('/tasks', { fn: 'echo', args: [{ deep: [{ $future: 'chain-0' }, { $future: 'chain-1' }] }] });
  const echoed = await http.get(`/futures/${nested.body.key}/result?timeout=10`);
  t.same(echoed.body.result, [{ deep: [1, 2] }], 'references anywhere in the arguments are replaced by results');
});

t.test('an error propagates to dependants', async (t) => {
  const submitted = await http.post('/tasks', {
    tasks: [
      { fn: 'fail', args: ['root cause'], key: 'err-root' },
      { fn: 'inc', args: [{ $future: 'err-root' }], key: 'err-child' },
    ],
  });
  t.equal(submitted.status, 201);
  const child = await http.get('/futures/err-child/result?timeout=10');
  t.match(child.body, { status: 'error', error: { name: 'TypeError', message: 'root cause', key: 'err-root' } });
});

t.test('gather with errors: skip, scatter, and the wait limit', async (t) => {
  const ok = await http.post('/tasks', { fn: 'inc', args: [41] });
  const bad = await http.post('/tasks', { fn: 'fail', args: ['skip me'] });
  const gathered = await http.post('/gather', { keys: [ok.body.key, bad.body.key], errors: 'skip', timeout: 10 });
  t.same(gathered.body, { results: [42], skipped: [bad.body.key] });

  const scattered = await http.post('/scatter', { data: [{ a: 1 }, [2, 3], 'four'] });
  t.equal(scattered.status, 201);
  t.equal(scattered.body.keys.length, 3);
  t.same((await http.post('/gather', { keys: scattered.body.keys })).body, { results: [{ a: 1 }, [2, 3], 'four'] });
  const one = await http.post('/scatter', { data: [1, 2], key: 'a-list' });
  t.same(one.body, { keys: ['a-list'] });
  const used = await http.post('/tasks', { fn: 'echo', args: [{ $future: 'a-list' }] });
  t.same((await http.get(`/futures/${used.body.key}/result?timeout=10`)).body.result, [[1, 2]], 'scattered values are dependencies like any other');

  const slow = await http.post('/tasks', { fn: 'sleep', args: [5000], pure: false });
  const waited = await http.get(`/futures/${slow.body.key}/result?timeout=0.2`);
  t.equal(waited.status, 408);
  t.equal(waited.body.error.code, 'SLUICE_ERR_TIMEOUT');
  const pending = await http.get(`/futures/${slow.body.key}`);
  t.match(pending.body, { status: 'pending', state: 'processing' });
  const cancelled = await http.post(`/futures/${slow.body.key}/cancel`);
  t.same(cancelled.body, { key: slow.body.key, status: 'cancelled' });
  const after = await http.get(`/futures/${slow.body.key}/result?timeout=1`);
  t.match(after.body, { status: 'cancelled', error: { name: 'CancelledError', message: 'cancelled on request' } });
  const again = await http.post(`/futures/${slow.body.key}/cancel`);
  t.same(again.body, { key: slow.body.key, status: 'cancelled' }, 'cancelling an ended task changes nothing');
});

t.test('a pending task says why it is not running', async (t) => {
  const { body } = await http.post('/tasks', { fn: 'nobodyHasThis', args: [] });
  const info = await http.get(`/futures/${body.key}`);
  t.match(info.body, { status: 'pending', state: 'queued', reason: "no connected worker has registered the function 'nobodyHasThis'" });
  const waiting = await http.post('/tasks', { fn: 'inc', args: [{ $future: body.key }] });
  const dependent = await http.get(`/futures/${waiting.body.key}`);
  t.match(dependent.body, { state: 'waiting', reason: `waiting for 1 dependency to finish: ${body.key}` });
  await http.post(`/futures/${body.key}/cancel`);
  t.match((await http.get(`/futures/${waiting.body.key}/result?timeout=5`)).body, { status: 'cancelled' });
});

t.test('SSE on /futures/events: the status now, then each change', async (t) => {
  const done = await http.post('/tasks', { fn: 'inc', args: [100] });
  await http.get(`/futures/${done.body.key}/result?timeout=10`);
  const slow = await http.post('/tasks', { fn: 'sleep', args: [300, 'late'], pure: false });
  const sse = await readSse(`${scheduler.url}/futures/events?keys=${done.body.key},${slow.body.key}`, {}, t);
  t.equal(sse.status, 200);
  const events = await sse.until((e) => e.length >= 3);
  const data = events.map((e) => ({ event: e.event, ...JSON.parse(e.data) }));
  t.same(data, [
    { event: 'status', key: done.body.key, status: 'finished', result: 101 },
    { event: 'status', key: slow.body.key, status: 'pending' },
    { event: 'status', key: slow.body.key, status: 'finished', result: 'late' },
  ]);
  const unknown = await http.get('/futures/events?keys=no-such-key');
  t.equal(unknown.status, 404);
});

t.test('bad input: 400 naming the field, 404 naming the key, 409, 413; nothing stored', async (t) => {
  const before = (await http.get('/futures/chain-0')).body;
  const cases: Array<[unknown, number, RegExp]> = [
    [{ fn: 'in c' }, 400, /body\.fn: fn is the name of a registered function/],
    [{ fn: 'inc', timeout: 3 }, 400, /body: unknown field "timeout"/],
    [{ tasks: [{ fn: 'inc' }, { fn: 5 }] }, 400, /body\.tasks\[1\]\.fn: .*expected string/],
    [{ tasks: [] }, 400, /body\.tasks: .*>=1/],
    [{ fn: 'inc', args: 'notalist' }, 400, /body\.args: .*expected array/],
    [{ fn: 'inc', priority: 1.5 }, 400, /body\.priority/],
    [{ fn: 'inc', retries: -1 }, 400, /body\.retries/],
    [{ fn: 'inc', key: 'has space' }, 400, /body\.key: a key is 1 to 256 characters/],
    [{ fn: 'inc', args: [{ $future: 'missing-key' }] }, 404, /unknown key: missing-key \(a dependency of inc-/],
    [{ fn: 'echo', key: 'chain-0' }, 409, /key chain-0 already names a task of inc/],
    [{ tasks: [{ fn: 'inc', key: 'cyc-a', args: [{ $future: 'cyc-b' }] }, { fn: 'inc', key: 'cyc-b', args: [{ $future: 'cyc-a' }] }] }, 400, /dependency cycle: cyc-a → cyc-b → cyc-a/],
    [{ fn: 'inc', key: 'self', args: [{ $future: 'self' }] }, 400, /task self depends on itself/],
  ];
  for (const [body, status, message] of cases) {
    const answer = await http.post('/tasks', body);
    t.equal(answer.status, status, JSON.stringify(body));
    t.match(answer.body.error?.message, message, JSON.stringify(body));
    t.match(answer.body.error?.code, /^SLUICE_ERR_/);
  }
  const malformed = await http.raw('POST', '/tasks', '{"fn": "inc", ');
  t.equal(malformed.status, 400);
  t.match(malformed.body.error.message, /not valid JSON/);
  // The scheduler answers 413 from Content-Length, before the body: send none,
  // so the answer cannot race an upload the scheduler has stopped reading.
  const huge = await announceBody(`${scheduler.url}/tasks`, 17 * 1024 * 1024);
  t.equal(huge.status, 413);
  t.equal(huge.body.error.code, 'SLUICE_ERR_TOO_LARGE');
  t.equal((await http.get('/futures/cyc-a')).status, 404, 'a refused batch stores none of its tasks');
  t.same((await http.get('/futures/chain-0')).body, before, 'nothing already stored changed');
  t.equal((await http.get('/no/such/route')).body.error.code, 'SLUICE_ERR_NOT_FOUND');
  t.match((await http.get('/futures/x/result?timeout=soon')).body.error.message, /query\.timeout/);
  t.match((await http.post('/gather', { keys: ['never-was'] })).body.error, { code: 'SLUICE_ERR_UNKNOWN_KEY', message: 'unknown key: never-was' });
});

t.test('DELETE /futures/:key releases the calling session’s hold', async (t) => {
  const session = api(scheduler.url, (await createSession(scheduler.url)).headers);
  const { body } = await session.post('/tasks', { fn: 'hang', pure: false });
  t.equal((await http.get(`/futures/${body.key}`)).body.status, 'pending');
  t.equal((await session.delete(`/futures/${body.key}`)).status, 204);
  t.match((await http.get(`/futures/${body.key}/result?timeout=5`)).body, { status: 'cancelled', error: { message: 'released by every holder before it finished' } });
  t.equal((await http.delete('/futures/never-was')).status, 404);
  const anonymous = await http.post('/tasks', { fn: 'sleep', args: [50, 'kept'], pure: false });
  t.equal((await http.delete(`/futures/${anonymous.body.key}`)).status, 204, 'an anonymous caller holds nothing: nothing changes');
  t.equal((await http.get(`/futures/${anonymous.body.key}/result?timeout=10`)).body.result, 'kept');
});

t.test('OpenAPI document at /docs/json, generated from the schemas', async (t) => {
  const doc = (await http.get('/docs/json')).body;
  t.match(doc.openapi, /^3\./);
  for (const path of ['/tasks', '/futures/{key}', '/futures/{key}/result', '/gather', '/scatter', '/channels/{name}/append', '/channels/{name}/events']) {
    t.ok(doc.paths[path], `documents ${path}`);
  }
  t.ok(doc.paths['/tasks'].post.requestBody, 'with the request body schema');
  t.equal((await http.get('/docs')).status, 200, 'and a UI');
});

t.test('SSE streams send heartbeat comments', async (t) => {
  const quick = await startScheduler(t, { env: { SLUICE_SSE_HEARTBEAT_MS: '100' } });
  await api(quick.url).put('/channels/idle', {});
  const controller = new AbortController();
  const response = await fetch(`${quick.url}/channels/idle/events`, { signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!text.includes(': heartbeat')) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  t.match(text, /: heartbeat\n\n/);
});

t.test('health and workers', async (t) => {
  const health = await http.get('/health');
  t.match(health.body, { status: 'ok', version: /^\d+\.\d+\.\d+/ });
  const workers = await http.get('/workers');
  t.equal(workers.body.length, 1);
  t.match(workers.body[0], { name: /^test-worker-/, concurrency: 4, processing: 0, draining: false });
  t.same(
    [...workers.body[0].functions].sort(),
    ['add', 'addReturningState', 'addXYZ', 'crash', 'echo', 'fail', 'fanOut', 'flaky', 'hang', 'inc', 'incEach', 'increment', 'incrementSlowFirst', 'rejectIf', 'sleep', 'total', 'unserializable', 'whereAmI'],
    'every exported function, under its export name',
  );
});

/** POST headers announcing a JSON body of `bytes`, and wait for the answer without sending it. */
function announceBody(url: string, bytes: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': bytes } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.flushHeaders();
  });
}

t.test('POST /futures/outcomes: many keys at once, no waiting, no holding; small results inline, unknown keys named', async (t) => {
  const finished = (await http.post('/tasks', { fn: 'inc', args: [500] })).body.key;
  const large = (await http.post('/tasks', { fn: 'echo', args: ['y'.repeat(400)] })).body.key;
  const failed = (await http.post('/tasks', { fn: 'fail', args: ['read in a batch'] })).body.key;
  const [scattered] = (await http.post('/scatter', { data: [{ a: 1 }] })).body.keys;
  await http.post('/gather', { keys: [finished, large], timeout: 10 });
  await http.get(`/futures/${failed}/result?timeout=10`);
  const pending = (await http.post('/tasks', { fn: 'sleep', args: [60_000, 'outcomes'] })).body.key;
  t.teardown(() => http.post(`/futures/${pending}/cancel`));

  const answer = await http.post('/futures/outcomes', { keys: [finished, large, failed, scattered, pending, 'never-submitted', finished], resultChars: 300 });
  t.equal(answer.status, 200);
  t.same(answer.body.futures[0], { key: finished, status: 'finished', result: 501 });
  t.same(answer.body.futures[1], { key: large, status: 'finished', resultOmitted: true }, 'a result over resultChars is left out');
  t.match(answer.body.futures[2], { key: failed, status: 'error', error: { name: 'TypeError', message: 'read in a batch' } });
  t.same(answer.body.futures[3], { key: scattered, status: 'finished', result: { a: 1 } });
  t.same(answer.body.futures[4], { key: pending, status: 'pending' });
  t.equal(answer.body.futures.length, 5, 'each key once');
  t.same(answer.body.missing, ['never-submitted']);
  t.match((await http.get(`/futures/${pending}`)).body, { status: 'pending', state: /queued|processing/ }, 'asking does not change the task');
  t.same((await http.post('/futures/outcomes', { keys: [large] })).body.futures[0].result, ['y'.repeat(400)], 'by default results up to the inline limit');

  for (const [body, field] of [
    [{ keys: [] }, 'body.keys'],
    [{ keys: ['bad key'] }, 'body.keys[0]'],
    [{ keys: [finished], resultChars: -1 }, 'body.resultChars'],
    [{ keys: [finished], extra: 1 }, 'body'],
  ] as const) {
    const refused = await http.post('/futures/outcomes', body);
    t.equal(refused.status, 400, JSON.stringify(body));
    t.match(refused.body.error, { code: 'SLUICE_ERR_VALIDATION', message: new RegExp(field.replace(/[.[\]]/g, '\\$&')) });
  }
});

t.test('POST /futures/outcomes is bounded: keys by --max-batch, the reply by --max-reply-bytes', async (t) => {
  const small = await startScheduler(t, { args: ['--max-batch', '10', '--max-reply-bytes', '2048'] });
  await startWorker(t, small.url);
  const smallHttp = api(small.url);
  const tooMany = await smallHttp.post('/futures/outcomes', { keys: Array.from({ length: 11 }, (_, i) => `k${i}`) });
  t.equal(tooMany.status, 413);
  t.match(tooMany.body.error, { code: 'SLUICE_ERR_TOO_LARGE', message: /11 keys is over the limit of 10/ });
  const keys = (await smallHttp.post('/tasks', { tasks: Array.from({ length: 3 }, (_, i) => ({ fn: 'echo', args: [String(i).repeat(1000)] })) })).body.keys;
  await smallHttp.post('/gather', { keys: keys.slice(0, 1), timeout: 10 });
  await smallHttp.post('/futures/outcomes', { keys });
  t.equal((await smallHttp.post('/gather', { keys, timeout: 10, errors: 'skip' })).status, 413, 'gather refuses the same results');
  const tooLarge = await smallHttp.post('/futures/outcomes', { keys });
  t.equal(tooLarge.status, 413);
  t.match(tooLarge.body.error, { code: 'SLUICE_ERR_TOO_LARGE', message: /--max-reply-bytes \(2048 characters\): ask for fewer keys, or a smaller resultChars/ });
  const cut = await smallHttp.post('/futures/outcomes', { keys, resultChars: 100 });
  t.equal(cut.status, 200, 'with a smaller resultChars the same keys fit');
  t.same(cut.body.futures.map((f: { resultOmitted?: boolean }) => f.resultOmitted), [true, true, true]);
});

t.test('GET /tasks/progress: tasks by function; limit validated', async (t) => {
  await http.post('/gather', { keys: (await http.post('/tasks', { tasks: [{ fn: 'add', args: [1, 2] }, { fn: 'add', args: [3, 4] }] })).body.keys, timeout: 10 });
  const progress = await http.get('/tasks/progress');
  t.equal(progress.status, 200);
  t.match(progress.body.functions.find((f: { fn: string }) => f.fn === 'add'), { fn: 'add', finished: 2, error: 0, waiting: 0, queued: 0, processing: 0 });
  const names = progress.body.functions.map((f: { fn: string }) => f.fn);
  t.same(names, [...names].sort(), 'in name order');
  const one = await http.get('/tasks/progress?limit=1');
  t.equal(one.body.functions.length, 1);
  t.ok(one.body.other.functions >= 1, 'the others summed up');
  for (const limit of ['0', '1001', 'many']) {
    const refused = await http.get(`/tasks/progress?limit=${limit}`);
    t.equal(refused.status, 400, `limit=${limit}`);
    t.match(refused.body.error, { code: 'SLUICE_ERR_VALIDATION', message: /query\.limit/ });
  }
});
