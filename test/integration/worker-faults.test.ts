// Workers against buggy tasks: errors that escape a task, processes that die, memory.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { api, readSse, startScheduler, startWorker } from '../helpers/cluster.ts';
import { Proc, sleep, waitFor } from '../helpers/processes.ts';

const FAULTY = fileURLToPath(new URL('../fixtures/faulty-tasks.ts', import.meta.url));

interface WorkerRow {
  id: string;
  name: string;
  pid?: number;
  rssBytes?: number;
  eventLoopUtilization?: number;
  memoryLimitBytes?: number;
  draining: boolean;
}

/** The worker process's pid, as the scheduler lists it (the worker, not its supervisor). */
async function workerPid(http: ReturnType<typeof api>, name: string, other?: number): Promise<number> {
  return waitFor(async () => {
    const row = ((await http.get('/workers')).body as WorkerRow[]).find((w) => w.name === name);
    return row?.pid !== undefined && row.pid !== other ? row.pid : undefined;
  }, `worker ${name} to be listed${other ? ` with a pid other than ${other}` : ''}`, 30_000);
}

/** The processes a process has spawned (Linux). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('errors that escape a task fail that task with the real error; the worker lives on', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const worker = await startWorker(t, scheduler.url, { tasks: FAULTY, concurrency: 2, name: 'escapes' });
  const pid = await workerPid(http, worker.name);

  await http.post('/tasks', { fn: 'rejectUnhandled', args: ['rejected and never caught'], key: 'unhandled-rejection' });
  const rejected = await http.get('/futures/unhandled-rejection/result?timeout=20');
  t.match(rejected.body, { status: 'error', error: { name: 'RangeError', message: 'rejected and never caught' } });
  t.match(rejected.body.error?.traceback, /^RangeError: rejected and never caught\n\s+at .*faulty-tasks\.ts:\d+/, 'the traceback is the real one');

  await http.post('/tasks', { fn: 'throwInTimer', args: ['thrown in a timer'], key: 'timer-throw' });
  const thrown = await http.get('/futures/timer-throw/result?timeout=20');
  t.match(thrown.body, { status: 'error', error: { name: 'SyntaxError', message: 'thrown in a timer' } });
  t.match(thrown.body.error?.traceback, /timerCallback/);

  // An error from a task that has already ended changes nothing about it.
  await http.post('/tasks', { fn: 'throwAfterEnd', args: ['after the end'], key: 'ended-then-threw' });
  t.match((await http.get('/futures/ended-then-threw/result?timeout=20')).body, { status: 'finished', result: 'done before the throw' });
  await worker.waitForLog((e) => e.key === 'ended-then-threw' && /after it ended/.test(String(e.msg)), 10_000);

  // Nothing that belongs to no task is pinned on one: a rejection is logged, and the worker carries on.
  await http.post('/tasks', { fn: 'escapeTheTask', args: ['rejection', 'nobody’s rejection'], key: 'stray-rejection' });
  t.match((await http.get('/futures/stray-rejection/result?timeout=20')).body, { status: 'finished' });
  await worker.waitForLog((e) => /outside any task/.test(String(e.msg)) && JSON.stringify(e).includes('nobody’s rejection'), 10_000);

  t.equal(await workerPid(http, worker.name), pid, 'the same worker process throughout');
  t.ok(worker.running, 'its supervisor too');
  t.same((await http.get('/futures/unhandled-rejection')).body.attempt, 1, 'the failing task ran once');
  await http.post('/tasks', { fn: 'inc', args: [1], key: 'still-working' });
  t.same((await http.get('/futures/still-working/result?timeout=20')).body.result, 2);
});

t.test('sluice worker restarts its worker process when it dies, and the scheduler hears why', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--allowed-failures', '1'] });
  const http = api(scheduler.url);
  const worker = await startWorker(t, scheduler.url, { tasks: FAULTY, concurrency: 1, name: 'nannied' });
  const first = await workerPid(http, worker.name);

  await http.post('/tasks', { fn: 'exitProcess', args: [3], key: 'exits-its-worker' });
  const second = await workerPid(http, worker.name, first);
  t.not(second, first, 'a new worker process took its place');
  t.notOk(alive(first), 'the dead one is gone');
  const heard = await scheduler.proc.waitForLog((e) => e.msg === 'worker exited' && e.code === 3);
  t.match(heard, { name: 'nannied', pid: first, tasks: ['exits-its-worker'] }, 'the scheduler logs the exit code and the task it was running');

  // It runs again on the new process, which dies the same way: lost, and the error says how.
  const lost = await http.get('/futures/exits-its-worker/result?timeout=40');
  t.match(lost.body, { status: 'lost', error: { name: 'LostError', message: /died 2 times \(allowedFailures is 1\).*exited with code 3/ } });

  // A worker killed from outside comes back too, and the scheduler hears the signal.
  const third = await workerPid(http, worker.name, second);
  process.kill(third, 'SIGKILL');
  await scheduler.proc.waitForLog((e) => e.msg === 'worker exited' && e.signal === 'SIGKILL' && e.pid === third);
  const fourth = await workerPid(http, worker.name, third);
  await http.post('/tasks', { fn: 'workerPid', key: 'after-the-kill' });
  t.same((await http.get('/futures/after-the-kill/result?timeout=20')).body.result, fourth);

  // Stopping the supervisor stops its worker process.
  t.same(await worker.stop('SIGTERM', 20_000), { code: 0, signal: null });
  await waitFor(() => !alive(fourth), 'the worker process to exit with its supervisor', 10_000);
});

t.test('a worker process whose supervisor is killed exits by itself', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const worker = await startWorker(t, scheduler.url, { tasks: FAULTY, concurrency: 1, name: 'orphan' });
  const pid = await workerPid(http, worker.name);
  await worker.stop('SIGKILL');
  await waitFor(() => !alive(pid), 'the orphaned worker process to exit', 15_000);
  await waitFor(async () => (await http.get('/workers')).body.length === 0, 'the scheduler to drop it');
});

t.test('a worker process whose supervisor is killed while the worker process starts exits by itself', async (t) => {
  const scheduler = await startScheduler(t);
  // The supervisor dies before the worker process it spawned has loaded its modules.
  const supervisor = new Proc(['worker', '--scheduler', scheduler.url, '--tasks', FAULTY, '--name', 'orphaned-at-start']);
  t.teardown(() => supervisor.stop('SIGKILL'));
  const pid = await waitFor(() => childPids(supervisor.pid)[0], 'the supervisor to spawn its worker process', 20_000, 5);
  t.teardown(() => {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  await supervisor.stop('SIGKILL');
  await waitFor(() => !alive(pid), 'the worker process to exit without its supervisor', 20_000);
  t.pass('it exited');
});

t.test('heartbeats carry the worker’s RSS and event-loop utilisation', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--heartbeat-ms', '200'] });
  const http = api(scheduler.url);
  await startWorker(t, scheduler.url, { tasks: FAULTY, name: 'measured', args: ['--memory-limit', '2GB'] });
  const row = await waitFor(async () => {
    const found = ((await http.get('/workers')).body as WorkerRow[]).find((w) => w.name === 'measured');
    return found?.rssBytes ? found : undefined;
  }, 'a heartbeat with figures');
  t.ok(row.rssBytes && row.rssBytes > 10e6 && row.rssBytes < 2e9, `RSS ${row.rssBytes}`);
  t.ok(row.eventLoopUtilization !== undefined && row.eventLoopUtilization >= 0 && row.eventLoopUtilization <= 1, `ELU ${row.eventLoopUtilization}`);
  t.equal(row.memoryLimitBytes, 2e9, '2GB is 2,000,000,000 bytes, as in Dask');

  const events = await readSse(`${scheduler.url}/events`, {}, t);
  const [snapshot] = await events.until((list) => list.some((e) => e.event === 'snapshot'));
  t.ok(JSON.parse(snapshot.data).workers[0].rssBytes > 0, 'the firehose snapshot has them');
  await events.until((list) => list.some((e) => e.event === 'worker' && JSON.parse(e.data).type === 'stats' && JSON.parse(e.data).workers[0].rssBytes > 0));
  t.pass('and sends them as they change');
});

t.test('--memory-limit: a worker over it takes no more tasks, restarts once its task ends, and the scheduler names the task', async (t) => {
  const scheduler = await startScheduler(t, { args: ['--heartbeat-ms', '200'] });
  const http = api(scheduler.url);
  const worker = await startWorker(t, scheduler.url, { tasks: FAULTY, concurrency: 2, name: 'hungry', args: ['--memory-limit', '400MB'] });
  const first = await workerPid(http, worker.name);

  await http.post('/tasks', { fn: 'hog', args: [500, 1500], key: 'memory-hog' });
  const draining = await scheduler.proc.waitForLog((e) => e.msg === 'worker draining' && e.name === 'hungry', 20_000);
  t.match(draining, { tasks: ['memory-hog'], reason: /memory/ }, 'the log names the task running when the limit was crossed');
  t.ok(((await http.get('/workers')).body as WorkerRow[]).find((w) => w.name === 'hungry')?.draining, 'it takes no new tasks');
  await http.post('/tasks', { fn: 'workerPid', key: 'after-the-hog' });

  t.same((await http.get('/futures/memory-hog/result?timeout=30')).body, { key: 'memory-hog', status: 'finished', result: first }, 'the running task finished');
  const second = await workerPid(http, worker.name, first);
  t.same((await http.get('/futures/after-the-hog/result?timeout=30')).body.result, second, 'the next task ran on the fresh process');
  await sleep(100);
  t.ok(worker.running, 'the supervisor is still there');
});

t.test('--memory-limit takes bytes or units, and says what is wrong with a bad one', async (t) => {
  const scheduler = await startScheduler(t);
  const { Proc } = await import('../helpers/processes.ts');
  const bad = new Proc(['worker', '--scheduler', scheduler.url, '--tasks', FAULTY, '--memory-limit', 'lots']);
  t.teardown(() => bad.stop('SIGKILL'));
  const exit = await bad.exited;
  t.not(exit.code, 0);
  t.match(bad.lines.join('\n'), /--memory-limit takes a number of bytes, or one with a unit/);
});

t.test('an exit report cannot take a live worker’s tasks; a malformed one is a 400 naming the field', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const worker = await startWorker(t, scheduler.url, { tasks: FAULTY, concurrency: 1, name: 'alive' });
  const pid = await workerPid(http, worker.name);
  await http.post('/tasks', { fn: 'workerPid', args: [1500], key: 'while-reported-dead' });
  await waitFor(async () => (await http.get('/futures/while-reported-dead')).body.state === 'processing', 'the task to start');
  const answer = await http.post('/workers/exited', { name: 'alive', pid, code: 1, signal: null });
  t.equal(answer.status, 200);
  t.same(answer.body.tasks, ['while-reported-dead'], 'the report is logged with the tasks the worker runs');
  t.same((await http.get('/futures/while-reported-dead/result?timeout=20')).body.result, pid, 'the live worker kept its task and finished it');
  t.ok(((await http.get('/workers')).body as WorkerRow[]).some((w) => w.pid === pid), 'and is still listed');
  const bad = await http.post('/workers/exited', { name: 'alive', pid: 'twelve', code: 1, signal: null });
  t.equal(bad.status, 400);
  t.match(bad.body.error.message, /body\.pid/);
});

t.test('with tokens: the supervisor reports with the worker token; a client token may not report', async (t) => {
  const client = 'client-token-aaaaaaaaaaaaaaaa';
  const workerToken = 'worker-token-bbbbbbbbbbbbbbbb';
  const scheduler = await startScheduler(t, { insecure: false, args: ['--client-token', client, '--worker-token', workerToken, '--admin-token', 'admin-token-cccccccccccccccccc'] });
  const http = api(scheduler.url, { authorization: `Bearer ${client}` });
  await startWorker(t, scheduler.url, { tasks: FAULTY, name: 'tokened', env: { SLUICE_TOKEN: workerToken } });
  const pid = await workerPid(http, 'tokened');
  process.kill(pid, 'SIGKILL');
  await scheduler.proc.waitForLog((e) => e.msg === 'worker exited' && e.pid === pid && e.signal === 'SIGKILL');
  await workerPid(http, 'tokened', pid);
  const refused = await http.post('/workers/exited', { name: 'tokened', pid, code: 0, signal: null });
  t.equal(refused.status, 403);
  t.equal(refused.body.error.code, 'SLUICE_ERR_FORBIDDEN');
});
