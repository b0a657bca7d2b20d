// Scheduling on real workers: priorities, dying and silent workers, protocol errors.
import t from 'tap';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';
import { openWebSocket } from '../helpers/sockets.ts';

t.test('priorities: higher first, FIFO within a priority', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  await startWorker(t, scheduler.url, { concurrency: 1 });
  await http.post('/tasks', { fn: 'sleep', args: [300], key: 'blocker' });
  const specs = [
    { key: 'low-1', priority: -5 },
    { key: 'normal-1', priority: 0 },
    { key: 'urgent', priority: 10 },
    { key: 'normal-2', priority: 0 },
    { key: 'low-2', priority: -5 },
  ];
  await http.post('/tasks', { tasks: specs.map((s) => ({ fn: 'sleep', args: [20, s.key], ...s })) });
  const keys = specs.map((s) => s.key);
  await http.post('/gather', { keys, timeout: 30 });
  const started = await Promise.all(keys.map(async (key) => ({ key, at: Date.parse((await http.get(`/futures/${key}`)).body.startedAt) })));
  t.same(
    started.sort((a, b) => a.at - b.at).map((s) => s.key),
    ['urgent', 'normal-1', 'normal-2', 'low-1', 'low-2'],
  );
});

t.test('a worker killed mid-task: the task finishes on another worker', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const a = await startWorker(t, scheduler.url, { concurrency: 1, name: 'doomed-or-not-a' });
  const b = await startWorker(t, scheduler.url, { concurrency: 1, name: 'doomed-or-not-b' });
  const { body } = await http.post('/tasks', { fn: 'whereAmI', args: [2000], key: 'survives-its-worker' });
  const running = await waitFor(async () => {
    const info = (await http.get(`/futures/${body.key}`)).body;
    return info.state === 'processing' ? info : undefined;
  }, 'the task to start');
  const [victim, survivor] = running.worker === a.name ? [a, b] : [b, a];
  await victim.stop('SIGKILL');
  const result = await http.get(`/futures/${body.key}/result?timeout=30`);
  t.same(result.body, { key: body.key, status: 'finished', result: survivor.name });
  t.equal((await http.get(`/futures/${body.key}`)).body.attempt, 2);
  t.equal((await http.get('/workers')).body.length, 1, 'the dead worker is gone from /workers');
});

t.test('a task whose workers keep dying is lost, with an error that says so', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--allowed-failures', '1'] });
  const http = api(scheduler.url);
  await startWorker(t, scheduler.url, { concurrency: 1 });
  await startWorker(t, scheduler.url, { concurrency: 1 });
  const { body } = await http.post('/tasks', { tasks: [{ fn: 'crash', key: 'killer' }, { fn: 'inc', args: [{ $future: 'killer' }], key: 'after-killer' }] });
  t.same(body.keys, ['killer', 'after-killer']);
  const outcome = await http.get('/futures/killer/result?timeout=30');
  t.match(outcome.body, {
    status: 'lost',
    error: { name: 'LostError', message: 'task killer was lost: the workers running it died 2 times (allowedFailures is 1)' },
  });
  t.match((await http.get('/futures/after-killer/result?timeout=5')).body, { status: 'lost', error: { message: 'dependency killer was lost' } });
});

t.test('a worker that stops sending heartbeats is dropped and its tasks rescheduled', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--heartbeat-ms', '100', '--worker-ttl-ms', '1000'] });
  const http = api(scheduler.url);
  await startWorker(t, scheduler.url, { concurrency: 1, name: 'frozen' });
  const { body } = await http.post('/tasks', { fn: 'whereAmI', args: [500], key: 'outlives-a-freeze' });
  await waitFor(async () => (await http.get(`/futures/${body.key}`)).body.worker === 'frozen', 'the task to start on the frozen worker');
  // The worker process itself (`sluice worker` is its supervisor), as /workers lists it.
  const pid = (await http.get('/workers')).body.find((w: { name: string }) => w.name === 'frozen').pid as number;
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // gone already
    }
  };
  signal('SIGSTOP');
  t.teardown(() => signal('SIGCONT'));
  await waitFor(async () => (await http.get('/workers')).body.length === 0, 'the silent worker to be dropped', 10_000);
  t.equal((await http.get(`/futures/${body.key}`)).body.state, 'queued', 'its task is queued again');
  await startWorker(t, scheduler.url, { concurrency: 1, name: 'thawed' });
  t.same((await http.get(`/futures/${body.key}/result?timeout=30`)).body.result, 'thawed');
  signal('SIGCONT');
  await waitFor(async () => (await http.get('/workers')).body.some((w: { name: string }) => w.name === 'frozen'), 'the frozen worker to reconnect');
  t.same((await http.get(`/futures/${body.key}`)).body.result, 'thawed', 'a late result from the old connection changes nothing');
});

t.test('a worker that sends a malformed message is disconnected with the reason; its task goes elsewhere', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const socket = await openWebSocket(`${scheduler.url.replace('http', 'ws')}/ws/worker`);
  t.teardown(() => socket.terminate());
  const messages: Array<{ type: string; tasks?: Array<{ key: string }> }> = [];
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString())));
  socket.send(JSON.stringify({ type: 'hello', protocol: 1, name: 'rogue', functions: ['inc'], concurrency: 1 }));
  await http.post('/tasks', { fn: 'inc', args: [1], key: 'rogue-task' });
  await waitFor(() => messages.some((m) => m.type === 'run'), 'the task to reach the rogue worker');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  socket.send(JSON.stringify({ type: 'report', items: [{ key: 'rogue-task', attempt: 1, status: 'finished' }] }));
  const { code, reason } = await closed;
  t.equal(code, 1008);
  t.match(reason, /message\.items\[0\]/, 'the reason names the bad field');
  t.equal((await http.get('/futures/rogue-task')).body.state, 'queued');
  await startWorker(t, scheduler.url);
  t.same((await http.get('/futures/rogue-task/result?timeout=30')).body.result, 2);

  const silent = await openWebSocket(`${scheduler.url.replace('http', 'ws')}/ws/worker`);
  t.teardown(() => silent.terminate());
  silent.send('not json');
  const closedToo = await new Promise<number>((resolve) => silent.once('close', (c: number) => resolve(c)));
  t.equal(closedToo, 1008);
});
