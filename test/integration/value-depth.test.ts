// One nesting limit (--max-depth) for every value a caller sends, checked
// without recursion: deep values are a 400 naming the field and the limit,
// never a 500, and nothing is stored.
import t from 'tap';
import { api, readSse, startScheduler, startWorker } from '../helpers/cluster.ts';

/** A value nested `levels` deep (an array `levels` times around `inner`). */
const deep = (levels: number, inner = '1'): string => '['.repeat(levels) + inner + ']'.repeat(levels);

interface Route {
  what: string;
  method: string;
  path: string;
  /** The body, with the value in it. */
  body: (value: string) => string;
  /** The field the 400 names. */
  field: RegExp;
  /** How many levels the body adds around the value given to body(), inside the field's value. */
  wrap?: number;
}

const routes: Route[] = [
  { what: 'a queue item', method: 'POST', path: '/queues/deep-q/put', body: (v) => `{"item":${v}}`, field: /^body\.item: / },
  { what: 'queue items', method: 'POST', path: '/queues/deep-q/put', body: (v) => `{"items":[1,${v}]}`, field: /^body\.items(\[1\])?: / },
  { what: 'a variable', method: 'PUT', path: '/variables/deep-v', body: (v) => `{"value":${v}}`, field: /^body\.value: / },
  { what: 'a variable, fenced', method: 'PUT', path: '/variables/deep-v', body: (v) => `{"value":{"a":${v}},"fence":{"lock":"none","token":1}}`, field: /^body\.value: /, wrap: 1 },
  { what: 'a topic message', method: 'POST', path: '/topics/deep-t/publish', body: (v) => `{"message":${v}}`, field: /^body\.message: / },
  { what: 'scattered data', method: 'POST', path: '/scatter', body: (v) => `{"data":${v},"key":"deep-data"}`, field: /^body\.data: / },
  { what: 'scattered values', method: 'POST', path: '/scatter', body: (v) => `{"data":[1,${v}]}`, field: /^body\.data(\[1\])?: / },
  { what: 'args', method: 'POST', path: '/tasks', body: (v) => `{"fn":"echo","key":"deep-task","args":${v}}`, field: /^body\.(tasks\[0\]\.)?args: / },
  { what: 'kwargs', method: 'POST', path: '/tasks', body: (v) => `{"fn":"echo","key":"deep-task","kwargs":{"x":${v}}}`, field: /^body\.(tasks\[0\]\.)?kwargs: /, wrap: 1 },
  { what: 'args in a batch', method: 'POST', path: '/tasks', body: (v) => `{"tasks":[{"fn":"echo","key":"deep-task","args":[${v}]}]}`, field: /^body\.tasks(\[0\]\.args)?: /, wrap: 1 },
  { what: 'args of an append', method: 'POST', path: '/channels/deep-c/append', body: (v) => `{"tasks":[{"fn":"echo","key":"deep-task","args":[${v}]}]}`, field: /^body\.tasks(\[0\]\.args)?: /, wrap: 1 },
  { what: 'a future inside an item', method: 'POST', path: '/queues/deep-q/put', body: (v) => `{"item":${deep(1, v.replace('1', '{"$future":"x"}'))}}`, field: /^body\.item: /, wrap: 2 },
];

t.test('values nested past the limit: 400 naming the field and the limit, on every route that takes a value, and nothing stored', async (t) => {
  const scheduler = await startScheduler(t);
  await startWorker(t, scheduler.url);
  const http = api(scheduler.url);
  const subscriber = await readSse(`${scheduler.url}/topics/deep-t/events`, {}, t);
  const before = await state(http);

  for (const levels of [65, 66, 200, 3_500, 200_000]) {
    for (const route of routes) {
      const value = deep(levels - (route.wrap ?? 0));
      const answer = await http.raw(route.method, route.path, route.body(value));
      t.equal(answer.status, 400, `${route.what}, ${levels} levels: 400 (${JSON.stringify(answer.body).slice(0, 200)})`);
      t.equal(answer.body?.error?.code, 'SLUICE_ERR_VALIDATION');
      t.match(answer.body?.error?.message, route.field, `${route.what}, ${levels} levels: names the field`);
      t.match(answer.body?.error?.message, /nests more than 64 levels deep; values may nest at most 64 levels deep \(--max-depth\)/, 'and the limit');
    }
  }
  t.same(await state(http), before, 'nothing was stored, and nothing was published');
  t.ok(scheduler.proc.running, 'the scheduler is running');

  // At the limit, every route takes the value, and it comes back whole.
  for (const route of routes.filter((r) => !r.what.includes('future') && !r.what.includes('fenced'))) {
    const value = deep(64 - (route.wrap ?? 0));
    const answer = await http.raw(route.method, route.path.replace('deep-', 'ok-'), route.body(value).replaceAll('deep-', 'ok-'));
    t.ok(answer.status < 300, `${route.what} at the limit: ${answer.status}`);
  }
  const got = await http.post('/queues/ok-q/get?batch=10&timeout=0');
  t.same(got.body.items, [JSON.parse(deep(64)), 1, JSON.parse(deep(64))], 'queue items at the limit come back whole');
  t.same((await http.get('/variables/ok-v')).body.value, JSON.parse(deep(64)));
  t.same((await http.get('/futures/ok-data/result?timeout=0')).body.result, JSON.parse(deep(64)));
  t.same((await http.get('/futures/ok-task/result?timeout=20')).body.result, JSON.parse(deep(64)), 'a task with args at the limit ran (echo returns its arguments)');
  subscriber.close();
});

t.test('--max-depth sets the limit for every value, results included', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--max-depth', '3'] });
  await startWorker(t, scheduler.url);
  const http = api(scheduler.url);
  t.equal((await http.post('/queues/q/put', { item: [[[1]]] })).status, 201);
  const refused = await http.post('/queues/q/put', { item: [[[[1]]]] });
  t.match(refused, { status: 400, body: { error: { message: /^body\.item: nests more than 3 levels deep/ } } });
  const task = await http.post('/tasks', { fn: 'echo', args: [[[1]]] });
  t.same((await http.get(`/futures/${task.body.key}/result?timeout=20`)).body.result, [[[1]]]);
  // A result deeper than the limit errs: echo returns its args and kwargs in one list, a level deeper than either.
  const nested = await http.post('/tasks', { fn: 'echo', args: [[[1]]], kwargs: { a: [[1]] } });
  t.match((await http.get(`/futures/${nested.body.key}/result?timeout=20`)).body, { status: 'error', error: { name: 'ResultTooDeep', message: /nests more than 3 levels deep/ } });
});

async function state(http: ReturnType<typeof api>): Promise<unknown> {
  const [queue, variable, topic, data, task, channel] = await Promise.all([
    http.get('/queues/deep-q'),
    http.get('/variables/deep-v'),
    http.get('/topics/deep-t'),
    http.get('/futures/deep-data'),
    http.get('/futures/deep-task'),
    http.get('/channels/deep-c'),
  ]);
  return { queue: queue.status, variable: variable.status, topic: topic.body, data: data.status, task: task.status, channel: channel.status, tasks: (await http.get('/workers')).status };
}
