// Clients and workers given several scheduler URLs: they find the one that serves, and move when it goes.
import t from 'tap';
import { Client } from '../../client/node.ts';
import type { Future } from '../../client/index.ts';
import { Schedulers, schedulerUrls } from '../../client/schedulers.ts';
import { SluiceError } from '../../client/errors.ts';
import { api, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { freePort, Proc, ROOT, waitFor, within } from '../helpers/processes.ts';
import { PYTHON_DIR, requirePython, startPythonWorker } from '../helpers/python.ts';
import { join } from 'node:path';



t.test('the list: comma-separated or an array, trimmed, without repeats', async (t) => {
  t.same(schedulerUrls('http://a:1, http://b:2/ ,,http://a:1'), ['http://a:1', 'http://b:2']);
  t.same(schedulerUrls(['http://a:1', 'http://b:2,http://c:3']), ['http://a:1', 'http://b:2', 'http://c:3']);
  t.throws(() => schedulerUrls(' , '), /no scheduler URL/);
  const s = new Schedulers('http://a:1,http://b:2,http://c:3');
  const standby = (leader: string | null) => new SluiceError('SLUICE_ERR_STANDBY', 'standby', 503, { leader });
  t.equal(s.failed('http://a:1', new SluiceError('SLUICE_ERR_OVERLOADED', 'busy', 503)), false, 'an overloaded scheduler is not left');
  t.equal(s.current, 'http://a:1');
  s.failed('http://a:1', standby('http://C:3/'));
  t.equal(s.current, 'http://c:3', 'a standby naming one of the URLs (spelled another way) sends there');
  s.failed('http://c:3', standby('http://elsewhere:9'));
  t.equal(s.current, 'http://a:1', 'a leader that is not one of the URLs is not followed: the next URL is tried');
  s.failed('http://c:3', standby(null));
  t.equal(s.current, 'http://a:1', 'a failure of a URL no longer in use moves nothing');
  s.failed('http://a:1', new SluiceError('SLUICE_ERR_UNREACHABLE', 'refused'));
  t.equal(s.current, 'http://b:2', 'an unreachable one: the next');
});

t.test('a dead URL first, a real scheduler second: the client and a worker find it', async (t) => {
  const scheduler = await startScheduler(t);
  const dead = `http://127.0.0.1:${await freePort()}`;
  const client = await Client.connect(`${dead},${scheduler.url}`, { connectTimeoutMs: 15_000 });
  t.teardown(() => client.close());
  t.same(client.urls, [dead, scheduler.url]);
  t.match(await api(scheduler.url).get('/health'), { status: 200, body: { status: 'ok', role: 'leader' } }, 'a scheduler alone leads');
  t.equal(client.url, scheduler.url, 'it talks to the one that answers');
  await startWorker(t, `${dead},${scheduler.url}`, { joinedAt: scheduler.url });
  t.same(await within(client.gather(client.map('inc', [[1], [2], [3]])), 20_000, 'results'), [2, 3, 4]);
  const chan = client.channel('first');
  chan.append(client.submit('inc', [10]));
  await chan.flush();
  const [entry] = await within((async () => {
    for await (const e of chan.entries()) return [e];
    return [];
  })(), 15_000, 'the channel entry');
  t.equal(entry?.seq, 1);
  t.equal(await entry?.future.result(), 11);
});

t.test('SLUICE_SCHEDULER takes a list too', async (t) => {
  const scheduler = await startScheduler(t);
  const dead = `http://127.0.0.1:${await freePort()}`;
  await startWorker(t, scheduler.url);
  const submit = new Proc(['submit', 'inc', '41', '--wait'], { env: { SLUICE_SCHEDULER: `${dead},${scheduler.url}` } });
  t.teardown(() => submit.stop('SIGKILL'));
  const { code } = await within(submit.exited, 30_000, 'sluice submit');
  t.equal(code, 0, submit.lines.join('\n'));
  t.match(submit.lines.join('\n'), /42/);
});

t.test('the scheduler killed and started again on another port: the client, a channel reader and a worker move there', async (t) => {
  const db = join(tempDir(t), 'sluice.db');
  const first = await startScheduler(t, { db });
  const secondPort = await freePort();
  const second = `http://127.0.0.1:${secondPort}`;
  const urls = [first.url, second];
  const client = await Client.connect(urls);
  t.teardown(() => client.close());
  await startWorker(t, urls.join(','), { name: 'mover', joinedAt: first.url });

  const name = 'moving';
  const chan = client.channel(name);
  const seen: number[] = [];
  const reader = (async () => {
    for await (const entry of chan.entries()) {
      seen.push(entry.seq);
      if (seen.length === 40) return;
    }
  })();
  const before = client.map('increment', Array.from({ length: 20 }, (_, i) => [i, 20]), { pure: false });
  chan.append(before);
  await chan.flush();
  await waitFor(() => seen.length === 20, 'the reader to see the first 20 entries', 15_000);

  await first.proc.stop('SIGKILL');
  // Submissions and appends made while no scheduler serves: queued, sent once one does.
  const after = client.map('increment', Array.from({ length: 20 }, (_, i) => [100 + i, 0]), { pure: false });
  chan.append(after);
  await startScheduler(t, { db, port: secondPort });

  await within(chan.flush(), 30_000, 'the appends after the move');
  t.equal(client.url, second, 'the client moved to the URL that serves');
  const results = await within(client.gather([...before, ...after]), 40_000, 'every future');
  t.same(results, [...Array.from({ length: 20 }, (_, i) => i + 1), ...Array.from({ length: 20 }, (_, i) => 101 + i)], 'futures from before and after the move resolve');
  await within(reader, 20_000, 'the reader');
  t.same(seen, Array.from({ length: 40 }, (_, i) => i + 1), 'the reader saw every entry once, in order, across the move');
  await waitFor(async () => (await api(second).get<Array<{ name: string }>>('/workers')).body.some((w) => w.name === 'mover'), 'the worker to join the new one', 20_000);
});

t.test('the Python client and worker: a dead URL skipped, then a move to another port', async (t) => {
  const python = requirePython();
  const db = join(tempDir(t), 'sluice.db');
  const first = await startScheduler(t, { db });
  const dead = `http://127.0.0.1:${await freePort()}`;
  const secondPort = await freePort();
  const second = `http://127.0.0.1:${secondPort}`;
  await startPythonWorker(t, `${dead},${first.url},${second}`, { name: 'py-mover', joinedAt: first.url });
  const client = await Client.connect([first.url, second]);
  t.teardown(() => client.close());
  const name = 'py-moving';
  const chan = client.channel(name);
  chan.append(Array.from({ length: 10 }, (_, i) => client.submit('py_inc', [i], { pure: false })));
  await chan.flush();

  const reader = new Proc([join(ROOT, 'test/fixtures/python-channel-reader.py'), `${dead},${first.url},${second}`, name, '20'], {
    command: python,
    env: { PYTHONPATH: PYTHON_DIR, PYTHONUNBUFFERED: '1' },
  });
  t.teardown(() => reader.stop('SIGKILL'));
  t.match(await reader.waitForLog((e) => e.event === 'connected', 30_000), { address: first.url, addresses: [dead, first.url, second] }, 'the Python client skipped the dead URL');
  await waitFor(() => reader.lines.filter((l) => l.includes('"entry"')).length === 10, 'the Python reader to see 10 entries', 30_000);

  await first.proc.stop('SIGKILL');
  await startScheduler(t, { db, port: secondPort });
  chan.append(Array.from({ length: 10 }, (_, i) => client.submit('py_inc', [10 + i], { pure: false })));
  await within(chan.flush(), 30_000, 'the appends on the new port');
  const done = await reader.waitForLog((e) => e.event === 'done', 60_000);
  t.same(done.seen, Array.from({ length: 20 }, (_, i) => i + 1), 'the Python reader saw every entry once, in order, across the move');
  t.equal(done.address, second, 'and moved to the new port');
  const results = reader.lines.filter((l) => l.includes('"entry"')).map((l) => JSON.parse(l).result);
  t.same(results, Array.from({ length: 20 }, (_, i) => i + 1), 'the Python worker ran them, before and after the move');
});
