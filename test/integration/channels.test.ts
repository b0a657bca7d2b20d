// Channels against the real scheduler: order, replay, stop, maxlen, durability, bad input.
import http from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { openEventStream } from '../../client/event-stream.ts';
import { Client } from '../../client/index.ts';
import { api, createSession, readSse, type SseReader, startScheduler, startWorker, tempDir } from '../helpers/cluster.ts';
import { sleep, waitFor, within } from '../helpers/processes.ts';


const scheduler = await startScheduler(t);
await startWorker(t, scheduler.url, { concurrency: 4 });
const curl = api(scheduler.url);

/** n finished futures to append, made by scatter. */
async function keys(n: number, tag: string): Promise<string[]> {
  const { body } = await curl.post('/scatter', { data: Array.from({ length: n }, (_, i) => `${tag}-${i}`) });
  return body.keys;
}

t.test('many concurrent appenders: every append present once, in one total order', async (t) => {
  const values = await keys(400, 'concurrent');
  const appenders = 8;
  const perAppender = values.length / appenders;
  const acknowledged = await Promise.all(
    Array.from({ length: appenders }, async (_, a) => {
      const mine: Array<{ seq: number; key: string }> = [];
      for (let i = 0; i < perAppender; i++) {
        const key = values[a * perAppender + i];
        const { status, body } = await curl.post('/channels/concurrent/append', { key });
        t.equal(status, 201);
        mine.push({ seq: body.seqs[0], key });
      }
      return mine;
    }),
  );
  const snapshot = (await curl.get('/channels/concurrent')).body;
  t.equal(snapshot.length, values.length);
  t.same(snapshot.futures.map((f: { seq: number }) => f.seq), Array.from({ length: values.length }, (_, i) => i + 1), 'seqs 1..n, no gaps');
  const bySeq = new Map(snapshot.futures.map((f: { seq: number; key: string }) => [f.seq, f.key]));
  for (const mine of acknowledged) {
    for (const { seq, key } of mine) t.equal(bySeq.get(seq), key);
    t.same(mine.map((m) => m.seq), [...mine.map((m) => m.seq)].sort((x, y) => x - y), 'each appender’s own appends keep its order');
  }
  t.same(new Set(snapshot.futures.map((f: { key: string }) => f.key)).size, values.length, 'every key once');
  t.match((await curl.get('/channels')).body, [{ name: 'concurrent', length: 400, lastSeq: 400, stopped: false, maxlen: null }]);
});

t.test('SSE: replay from ?from= and resume by Last-Event-ID, missing nothing and repeating nothing', async (t) => {
  const values = await keys(50, 'replay');
  await curl.post('/channels/replay/append', { keys: values.slice(0, 30) });
  const first = await readSse(`${scheduler.url}/channels/replay/events`, {}, t);
  await first.until((events) => events.filter((e) => e.event === 'append').length >= 30);
  first.close();
  const lastId = first.events.filter((e) => e.event === 'append').at(-1)?.id;
  t.equal(lastId, '30');
  await curl.post('/channels/replay/append', { keys: values.slice(30) });
  const resumed = await readSse(`${scheduler.url}/channels/replay/events`, { 'last-event-id': String(lastId) }, t);
  await resumed.until((events) => events.filter((e) => e.event === 'append').length >= 20);
  const seqs = [...first.events, ...resumed.events].filter((e) => e.event === 'append').map((e) => Number(e.id));
  t.same(seqs, Array.from({ length: 50 }, (_, i) => i + 1));
  const keysSeen = [...first.events, ...resumed.events].filter((e) => e.event === 'append').map((e) => JSON.parse(e.data).key);
  t.same(keysSeen, values);
  const fromTen = await readSse(`${scheduler.url}/channels/replay/events?from=45`, {}, t);
  await fromTen.until((events) => events.length >= 6);
  t.same(fromTen.events.map((e) => e.id), ['45', '46', '47', '48', '49', '50']);
});

t.test('status events follow the futures in a channel; POST /tasks with channel appends in the same write', async (t) => {
  const unknown = await curl.get('/channels/statuses/events');
  t.equal(unknown.status, 404, 'an unknown channel cannot be read');
  t.match(unknown.body.error, { code: 'SLUICE_ERR_UNKNOWN_CHANNEL', message: /unknown channel: statuses/ });
  const submitted = await curl.post('/tasks', { fn: 'sleep', args: [300, 'slept'], pure: false, channel: 'statuses' });
  t.equal(submitted.status, 201);
  const sse = await readSse(`${scheduler.url}/channels/statuses/events`, {}, t);
  const events = await sse.until((e) => e.some((x) => x.event === 'status'));
  t.same(events.map((e) => [e.event, JSON.parse(e.data)]), [
    ['append', { seq: 1, key: submitted.body.key, status: 'pending' }],
    ['status', { seq: 1, key: submitted.body.key, status: 'finished' }],
  ]);
  const batch = await curl.post('/channels/statuses/append', { tasks: [{ fn: 'inc', args: [1] }, { fn: 'inc', args: [2] }] });
  t.same(batch.body.seqs, [2, 3]);
  t.same((await curl.post('/gather', { keys: batch.body.keys, timeout: 10 })).body.results, [2, 3]);
});

t.test('stop ends every reader and every client iteration; a later append is a 409', async (t) => {
  const values = await keys(3, 'stopping');
  await curl.post('/channels/stopping/append', { keys: values });
  const readers = await Promise.all([1, 2, 3].map(() => readSse(`${scheduler.url}/channels/stopping/events`, {}, t)));
  const clients = await Promise.all([1, 2].map(() => Client.connect(scheduler.url)));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  const iterations = clients.map(async (client) => {
    const seen: unknown[] = [];
    for await (const future of client.channel('stopping')) seen.push(await future);
    return seen;
  });
  for (const reader of readers) await reader.until((e) => e.length >= 3);
  const stopped = await curl.post('/channels/stopping/stop');
  t.match(stopped.body, { name: 'stopping', stopped: true, length: 3 });
  for (const reader of readers) {
    await reader.ended;
    t.equal(reader.events.at(-1)?.event, 'stop');
  }
  t.same(await Promise.all(iterations), [['stopping-0', 'stopping-1', 'stopping-2'], ['stopping-0', 'stopping-1', 'stopping-2']]);
  const refused = await curl.post('/channels/stopping/append', { key: values[0] });
  t.equal(refused.status, 409);
  t.equal(refused.body.error.code, 'SLUICE_ERR_CHANNEL_STOPPED');
  const late = await readSse(`${scheduler.url}/channels/stopping/events`, {}, t);
  await late.ended;
  t.same(late.events.map((e) => e.event), ['append', 'append', 'append', 'stop'], 'a reader arriving after the stop replays, then stops');
});

t.test('maxlen: the oldest entries fall off and let go of their futures', async (t) => {
  t.match((await curl.put('/channels/bounded', { maxlen: 3 })).body, { name: 'bounded', maxlen: 3, length: 0 });
  const values = await keys(5, 'bounded');
  await curl.post('/channels/bounded/append', { keys: values });
  const snapshot = (await curl.get('/channels/bounded')).body;
  t.same(snapshot.futures.map((f: { seq: number }) => f.seq), [3, 4, 5]);
  t.equal(snapshot.length, 3);
  const held = await curl.post('/tasks', { fn: 'sleep', args: [10_000], pure: false, fireAndForget: false });
  t.equal(held.status, 201);
  const viaChannel = await curl.post('/channels/bounded/append', { tasks: [{ fn: 'sleep', args: [10_000], pure: false }] });
  const pendingKey = viaChannel.body.keys[0];
  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());
  t.equal(client.channel('bounded').futures.length, 0, 'futures starts following on first use');
  const chan = client.channel('bounded');
  chan.futures;
  await chan.flush();
  t.equal(chan.futures.length, 3, 'the client deque keeps maxlen too');
  await curl.put('/channels/bounded', { maxlen: 1 });
  await curl.post('/channels/bounded/append', { keys: values.slice(0, 1) });
  t.same((await curl.get('/channels/bounded')).body.futures.map((f: { seq: number }) => f.seq), [7]);
  await curl.post(`/futures/${held.body.key}/cancel`);
  t.equal((await curl.get(`/futures/${pendingKey}`)).body.status, 'pending', 'an anonymous caller’s task is fire-and-forget');
  const onlyChannel = await curl.post('/channels/only-held-here/append', { tasks: [{ fn: 'sleep', args: [10_000], pure: false }] });
  await curl.put('/channels/only-held-here', { maxlen: 1 });
  const session = api(scheduler.url, (await createSession(scheduler.url)).headers);
  const mine = await session.post('/channels/only-held-here/append', { tasks: [{ fn: 'sleep', args: [10_000], pure: false }] });
  await session.post('/channels/only-held-here/append', { key: values[0] });
  await session.post('/futures/release', { keys: mine.body.keys });
  t.match((await curl.get(`/futures/${mine.body.keys[0]}/result?timeout=5`)).body, { status: 'cancelled' }, 'a pending task that fell off and that nobody else holds is cancelled');
  t.equal(onlyChannel.status, 201);
});

t.test('idempotency keys make a retried append a no-op', async (t) => {
  const [key] = await keys(1, 'idem');
  const first = await curl.post('/channels/idem/append', { key, idempotencyKey: 'retry-me' });
  const again = await curl.post('/channels/idem/append', { key, idempotencyKey: 'retry-me' });
  t.same(again.body, first.body);
  t.equal((await curl.get('/channels/idem')).body.length, 1);
  const tasks = await curl.post('/channels/idem/append', { tasks: [{ fn: 'inc', args: [1], pure: false }], idempotencyKey: 'submit-once' });
  const retried = await curl.post('/channels/idem/append', { tasks: [{ fn: 'inc', args: [1], pure: false }], idempotencyKey: 'submit-once' });
  t.same(retried.body, tasks.body, 'a retried submit-and-append submits nothing new');
  t.equal((await curl.get('/channels/idem')).body.length, 2);
});

t.test('bad input: 400, 404 naming the key, 409, 413; nothing stored changes', async (t) => {
  const [key] = await keys(1, 'bad');
  await curl.post('/channels/guarded/append', { key });
  const before = (await curl.get('/channels/guarded')).body;
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['/channels/guarded/append', { keys: [key, 'no-such-key'] }, 404, /unknown key: no-such-key/],
    ['/channels/guarded/append', { keys: [] }, 400, /body\.keys/],
    ['/channels/guarded/append', { key, extra: 1 }, 400, /unknown field "extra"/],
    ['/channels/guarded/append', { tasks: [{ fn: 'inc' }, { fn: 'inc', args: [{ $future: 'ghost' }] }] }, 404, /unknown key: ghost/],
    ['/channels/bad name/append', { key }, 400, /params\.name: a channel name is 1 to 128 characters/],
    [`/channels/${'x'.repeat(129)}/append`, { key }, 400, /params\.name/],
    ['/channels/guarded/append', { keys: Array.from({ length: 10_001 }, () => key) }, 413, /an append of 10001 entries is over the limit of 10000/],
  ];
  for (const [path, body, status, message] of cases) {
    const answer = await curl.post(path, body);
    t.equal(answer.status, status, path);
    t.match(answer.body.error.message, message, path);
  }
  t.same((await curl.get('/channels/guarded')).body, before, 'the channel is as it was');
  t.equal((await curl.get('/channels/never-created')).status, 404);
  t.equal((await curl.post('/channels/never-created/append', { key: 'no-such-key' })).status, 404);
  t.equal((await curl.get('/channels/never-created')).status, 404, 'a refused append creates no channel');
  t.match((await curl.put('/channels/guarded', { maxlen: 0 })).body.error.message, /body\.maxlen/);
  const badId = await fetch(`${scheduler.url}/channels/guarded/events`, { headers: { 'last-event-id': 'yesterday' } });
  t.equal(badId.status, 400);
});

t.test('delete releases the holds and ends readers', async (t) => {
  const [key] = await keys(1, 'deleted');
  await curl.post('/channels/doomed/append', { key });
  const reader = await readSse(`${scheduler.url}/channels/doomed/events`, {}, t);
  await reader.until((e) => e.length >= 1);
  t.equal((await curl.delete('/channels/doomed')).status, 204);
  await reader.ended;
  t.equal(reader.events.at(-1)?.event, 'stop');
  t.equal((await curl.get('/channels/doomed')).status, 404);
  t.notOk((await curl.get('/channels')).body.some((c: { name: string }) => c.name === 'doomed'));
});

t.test('names that hold colons or look like other holders: each channel hears and lets go of its own entries only', async (t) => {
  const names = ['x', 'x:1', 'x:1:1', 'task:x', 'client:x', 'queue:x:1'];
  const readers: SseReader[] = [];
  for (const name of names) {
    await curl.put(`/channels/${name}`, {});
    readers.push(await readSse(`${scheduler.url}/channels/${name}/events`, {}, t));
  }
  // One key in every channel, at a different seq in each.
  const session = api(scheduler.url, (await createSession(scheduler.url)).headers);
  const pending = (await session.post('/tasks', { fn: 'sleep', args: [60_000], pure: false })).body.key;
  for (const [i, name] of names.entries()) {
    const padding = i > 0 ? await keys(i, `padding-${i}`) : [];
    const { body } = await curl.post(`/channels/${name}/append`, { keys: [...padding, pending] });
    t.same(body.seqs.at(-1), i + 1, `${name} has it at seq ${i + 1}`);
  }
  await session.post('/futures/release', { keys: [pending] });
  await curl.post(`/futures/${pending}/cancel`);
  for (const [i, name] of names.entries()) {
    const events = await readers[i].until((e) => e.some((x) => x.event === 'status'));
    t.same(
      events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data)),
      [{ seq: i + 1, key: pending, status: 'cancelled' }],
      `${name}'s reader hears of its own entry, once`,
    );
  }

  const held = (await session.post('/tasks', { fn: 'sleep', args: [60_000], pure: false })).body.key;
  for (const name of names) await curl.post(`/channels/${name}/append`, { key: held });
  await session.post('/futures/release', { keys: [held] });
  for (const name of names.slice(0, -1)) {
    t.equal((await curl.delete(`/channels/${name}`)).status, 204);
    t.equal((await curl.get(`/futures/${held}`)).body.status, 'pending', `deleting ${name} lets go of its entry only`);
  }
  await curl.delete(`/channels/${names.at(-1)}`);
  t.match((await curl.get(`/futures/${held}/result?timeout=5`)).body, { status: 'cancelled' }, 'the last entry gone, nobody holds it');
});

t.test('a reader too slow to keep up is cut off, and resumes from its last id missing nothing', async (t) => {
  const slow = await startScheduler(t, { env: { SLUICE_SSE_MAX_BUFFERED_BYTES: '65536' } });
  const slowApi = api(slow.url);
  await slowApi.put('/channels/firehose', {});
  // A reader that is caught up, then reads nothing more: its socket's buffers fill up.
  const request = http.get(`${slow.url}/channels/firehose/events`);
  request.on('error', () => undefined); // the cut-off shows as a hang-up here
  const response = await new Promise<http.IncomingMessage>((resolve) => request.once('response', resolve));
  response.on('error', () => undefined);
  response.pause();
  t.teardown(() => request.destroy());
  // A reader that reconnects with Last-Event-ID whenever it is cut off, as the client does.
  const seqs: number[] = [];
  let drops = 0;
  const resuming = openEventStream({
    url: `${slow.url}/channels/firehose/events`,
    minDelayMs: 10,
    onEvent: (event) => {
      if (event.event === 'append') seqs.push(Number(event.id));
    },
    onDrop: () => drops++,
  });
  t.teardown(() => resuming.close());
  const long = 'k'.repeat(240);
  const { body } = await slowApi.post('/scatter', { data: Array.from({ length: 1000 }, (_, i) => i), keys: Array.from({ length: 1000 }, (_, i) => `${long}${i}`) });
  const cutOff = slow.proc.waitForLog((e) => String(e.msg).startsWith('SSE reader too slow'), 30_000);
  for (let round = 0; round < 25; round++) await slowApi.post('/channels/firehose/append', { keys: body.keys });
  const logged = await cutOff;
  t.ok((logged.buffered as number) > 65536, `the server cut a stalled reader off with ${logged.buffered} bytes unsent`);
  await waitFor(() => seqs.length >= 25_000, 'the resuming reader to get every entry', 30_000);
  t.same(seqs, Array.from({ length: 25_000 }, (_, i) => i + 1), `every entry once, in order, across ${drops} reconnections`);
});

/** Requests the scheduler has answered on a route, from /metrics. */
async function served(route: string): Promise<number> {
  const text = await (await fetch(`${scheduler.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('sluice_http_request_duration_seconds_count{') && line.includes(`route="${route}"`)) total += Number(line.split(' ').pop());
  }
  return total;
}

t.test('a client reading a long channel and letting go of each future sends no request per entry', async (t) => {
  const n = 3000;
  const values = await keys(n, 'long-read');
  for (let i = 0; i < n; i += 1000) await curl.post('/channels/long-read/append', { keys: values.slice(i, i + 1000) });
  await curl.post('/channels/long-read/stop', {});
  const client = await Client.connect(scheduler.url);
  t.teardown(() => client.close());
  const before = (await served('/futures/hold')) + (await served('/futures/release'));
  let count = 0;
  let inOrder = true;
  for await (const entry of client.channel('long-read').entries()) {
    count++;
    if (entry.seq !== count) inOrder = false;
    entry.future.release(); // never awaited: the scheduler need not hear of it
  }
  t.equal(count, n, 'every entry read');
  t.ok(inOrder, 'in order');
  await client.flush();
  const after = (await served('/futures/hold')) + (await served('/futures/release'));
  t.ok(after - before < 20, `hold and release requests for ${n} entries let go unread: ${after - before}`);

  // A future whose hold went out is let go of with a request of its own.
  const entries = client.channel('long-read').entries();
  const first = (await entries.next()).value as { future: { key: string; release(): void; result(): Promise<unknown> } };
  t.equal(await first.future.result(), 'long-read-0');
  const releasesBefore = await served('/futures/release');
  first.future.release();
  await entries.return?.();
  await client.flush();
  t.equal((await served('/futures/release')) - releasesBefore, 1, 'one release request for the held future');
});

t.test('kill -9: acknowledged appends, their order and their results survive; readers resume', async (t) => {
  const db = join(tempDir(t), 'channels.db');
  const first = await startScheduler(t, { db });
  const worker = await startWorker(t, first.url);
  const firstApi = api(first.url);
  const results = await firstApi.post('/channels/durable/append', { tasks: Array.from({ length: 20 }, (_, i) => ({ fn: 'inc', args: [i], pure: false })) });
  await firstApi.post('/gather', { keys: results.body.keys, timeout: 20 });
  await worker.stop('SIGKILL');

  const client = await Client.connect(first.url, { retryForMs: 30_000 });
  t.teardown(() => client.close());
  const iterator = client.channel('durable').entries();
  const seen: number[] = [];
  for (let i = 0; i < 20; i++) seen.push((await iterator.next()).value.seq);

  const acknowledged: Array<{ seq: number; key: string }> = [];
  const scattered = await firstApi.post('/scatter', { data: Array.from({ length: 2000 }, (_, i) => i) });
  let cutOff = 0;
  // 20 appenders, each appending one key at a time, until the kill cuts them off.
  const burst = Array.from({ length: 20 }, async (_, a) => {
    for (let i = a; i < scattered.body.keys.length; i += 20) {
      const key = scattered.body.keys[i];
      try {
        const answer = await firstApi.post('/channels/durable/append', { key });
        if (answer.status === 201) acknowledged.push({ seq: answer.body.seqs[0], key });
      } catch {
        cutOff++;
        return;
      }
    }
  });
  await waitFor(() => acknowledged.length >= 100, 'some acknowledged appends');
  first.proc.child.kill('SIGKILL');
  await Promise.all(burst);
  t.ok(cutOff > 0, `killed mid-burst: ${acknowledged.length} appends acknowledged, ${cutOff} appenders cut off`);

  const second = await startScheduler(t, { db, port: first.port });
  const secondApi = api(second.url);
  const snapshot = (await secondApi.get('/channels/durable')).body;
  const bySeq = new Map(snapshot.futures.map((f: { seq: number; key: string }) => [f.seq, f.key]));
  t.same(acknowledged.filter(({ seq, key }) => bySeq.get(seq) !== key), [], `all ${acknowledged.length} acknowledged appends kept their seq and key`);
  t.same(snapshot.futures.map((f: { seq: number }) => f.seq), Array.from({ length: snapshot.length }, (_, i) => i + 1), 'no gap in the order');
  t.equal(snapshot.lastSeq, snapshot.futures.length, 'lastSeq is the newest entry kept');
  const next = await secondApi.post('/channels/durable/append', { key: scattered.body.keys[0] });
  t.same(next.body.seqs, [snapshot.lastSeq + 1], 'the next append carries on from the newest entry');
  const gathered = await secondApi.post('/gather', { keys: results.body.keys });
  t.same(gathered.body.results, Array.from({ length: 20 }, (_, i) => i + 1), 'results readable with no worker connected');

  while (seen.length < snapshot.length) {
    const step = await within(iterator.next(), 10_000, 'the next entry');
    if (step.done) break;
    seen.push(step.value.seq);
  }
  t.same(seen, Array.from({ length: snapshot.length }, (_, i) => i + 1), 'the client iteration carried on across the restart, nothing missed or repeated');
  await iterator.return?.();
});

t.test('the CLI: ls, append, tail, stop', async (t) => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { BIN, ROOT } = await import('../helpers/processes.ts');
  const run = (...args: string[]) => promisify(execFile)(process.execPath, [BIN, ...args, '--scheduler', scheduler.url], { cwd: ROOT });
  const [key] = await keys(1, 'cli');
  t.equal((await run('channel', 'append', 'from-cli', key, key)).stdout, '1\n2\n');
  t.match((await run('channel', 'ls')).stdout, /from-cli\s+2\s+-\s+2\s+no/);
  const tail = run('channel', 'tail', 'from-cli');
  await sleep(500);
  await run('channel', 'stop', 'from-cli', '--yes');
  const lines = (await tail).stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.same(lines, [
    { event: 'append', seq: 1, key, status: 'finished' },
    { event: 'append', seq: 2, key, status: 'finished' },
  ]);
  const refused = await run('channel', 'append', 'from-cli', key).then(() => undefined, (error: { code: number; stderr: string }) => error);
  t.equal(refused?.code, 1);
  t.match(refused?.stderr, /channel from-cli is stopped.* \(SLUICE_ERR_CHANNEL_STOPPED\)/);
});
