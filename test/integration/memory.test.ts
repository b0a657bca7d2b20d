// What a caller can make the scheduler keep in memory is bounded, in count and
// in bytes, and past each bound it answers a clear error and stores nothing;
// past the heap's own limit it sheds load rather than dying. Against the real
// scheduler process. Limits are given through SLUICE_* variables, as an
// operator would.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { api, readSse, startScheduler, startWorker } from '../helpers/cluster.ts';
import { sleep, waitFor } from '../helpers/processes.ts';

const CLIENT = 'client-token-aaaaaaaaaaaaaaaa';
const TOKENS = ['--client-token', CLIENT, '--worker-token', 'worker-token-bbbbbbbbbbbbbbbb', '--admin-token', 'admin-token-cccccccccccccccccc'];
const bearer = { authorization: `Bearer ${CLIENT}` };
const MB = 1024 * 1024;

/** The process's resident memory, from the kernel. */
function rssBytes(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) * 1024;
}

/** A metric's value from GET /metrics. */
async function metric(url: string, name: string, headers: Record<string, string> = {}): Promise<number | undefined> {
  const text = (await api(url, headers).get<string>('/metrics')).body;
  const line = String(text).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

t.test('pub/sub: a client token cannot make topics hold more than their budgets', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS });
  const client = api(scheduler.url, bearer);

  const huge = await client.post('/topics/big/publish', { message: 'm'.repeat(2 * MB) });
  t.equal(huge.status, 413, 'a message over the largest a publish may carry');
  t.match(huge.body.error, { code: 'SLUICE_ERR_TOO_LARGE', message: /--max-message-bytes/ });
  t.equal((await client.get('/topics/big')).body.lastSeq, 0, 'nothing was published');

  // Topics each given a message of nearly a megabyte, in two rounds of 250: 250 MB a round if each kept its last one.
  // The first round grows the heap to its working size (the request bodies' garbage included); the second must not grow it much.
  const message = 'p'.repeat(MB - 100);
  const round = async (from: number): Promise<void> => {
    for (let i = from; i < from + 250; i++) {
      const published = await client.post(`/topics/flood-${i}/publish`, { message });
      if (published.status !== 200) t.fail(`publish ${i} answered ${published.status}: ${JSON.stringify(published.body)}`);
    }
  };
  await round(0);
  const before = rssBytes(scheduler.proc.pid);
  await round(250);
  const grown = rssBytes(scheduler.proc.pid) - before;
  t.ok(grown < 120 * MB, `the second 250 MB published grew the scheduler's memory by ${Math.round(grown / MB)} MB`);
  const kept = await metric(scheduler.url, 'sluice_topic_replay_bytes', bearer);
  t.ok(kept !== undefined && kept <= 64 * MB, `the replay buffers of all topics together stay within 64 MiB (${kept})`);
  t.equal((await client.get('/topics/flood-499')).body.lastSeq, 1, 'the latest topic is there');
  t.equal((await client.get('/health')).status, 200);
});

t.test('pub/sub: topics in memory are bounded in number; idle ones make room, subscribed ones are kept', async (t) => {
  const scheduler = await startScheduler(t, { insecure: false, args: TOKENS, env: { SLUICE_MAX_TOPICS: '3' } });
  const client = api(scheduler.url, bearer);
  const subscribers = [];
  for (const name of ['a', 'b', 'c']) subscribers.push(await readSse(`${scheduler.url}/topics/${name}/events`, bearer, t));
  await waitFor(async () => (await client.get('/topics/c')).body.subscribers === 1, 'the subscribers');

  const refused = await client.post('/topics/d/publish', { message: 1 });
  t.equal(refused.status, 503, 'every topic in memory has a subscriber: no room for a fourth');
  t.match(refused.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /3 topics.*--max-topics/ });
  t.equal(refused.headers.get('retry-after'), '1');
  const stream = await fetch(`${scheduler.url}/topics/e/events`, { headers: bearer });
  t.equal(stream.status, 503, 'nor for a subscriber to a fourth');
  await stream.body?.cancel();

  subscribers[0].close();
  await waitFor(async () => (await client.get('/topics/a')).body.subscribers === 0, 'topic a to lose its subscriber');
  await client.post('/topics/a/publish', { message: 'kept until room is needed' });
  t.match((await client.post('/topics/d/publish', { message: 2 })).body, { delivered: 0 }, 'the idle topic made room');
  t.equal((await client.get('/topics/a')).body.lastSeq, 0, 'it was forgotten (its count starts again)');
  t.equal((await client.get('/topics/b')).body.subscribers, 1, 'a subscribed topic was not touched');
});

t.test('pending tasks: their arguments count against --max-pending-bytes, released as they end', async (t) => {
  const scheduler = await startScheduler(t, { env: { SLUICE_MAX_PENDING_BYTES: String(3 * MB) } });
  const http = api(scheduler.url);
  const arg = 'a'.repeat(MB);
  t.equal((await http.post('/tasks', { fn: 'echo', args: [arg], key: 'pending-1' })).status, 201);
  t.equal((await http.post('/tasks', { fn: 'echo', args: [arg], key: 'pending-2' })).status, 201);
  const refused = await http.post('/tasks', { fn: 'echo', args: [arg], key: 'pending-3' });
  t.equal(refused.status, 503, 'a third megabyte does not fit');
  t.match(refused.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /pending tasks hold \d+ characters .* --max-pending-bytes \(3145728\)/ });
  t.equal(refused.headers.get('retry-after'), '1');
  t.equal((await http.get('/futures/pending-3')).status, 404, 'nothing was stored');
  const never = await http.post('/tasks', { tasks: [1, 2, 3, 4].map((i) => ({ fn: 'echo', args: [arg], key: `batch-${i}` })) });
  t.equal(never.status, 413, 'a batch larger than the whole budget can never fit');
  t.match(never.body.error, { code: 'SLUICE_ERR_TOO_LARGE', message: /--max-pending-bytes/ });

  await startWorker(t, scheduler.url);
  await http.get('/futures/pending-2/result?timeout=20');
  await http.get('/futures/pending-1/result?timeout=20');
  t.equal((await http.post('/tasks', { fn: 'echo', args: [arg], key: 'pending-3' })).status, 201, 'room again once they ended');
  t.match((await http.get('/futures/pending-3/result?timeout=20')).body, { status: 'finished' });
});

t.test('heap: by default the scheduler sheds load before its heap runs out, and stays up', async (t) => {
  // A heap of 256 MB and tasks of 4 MB of arguments that no worker runs: without shedding, the process dies.
  const scheduler = await startScheduler(t, { env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=256` } });
  const http = api(scheduler.url);
  const arg = 'h'.repeat(4 * MB);
  let shed: Awaited<ReturnType<typeof http.post>> | undefined;
  let accepted = 0;
  for (let i = 0; i < 150 && !shed; i++) {
    const answer = await http.post('/tasks', { fn: 'echo', args: [arg, i], pure: false }).catch((error: unknown) => ({ status: 0, body: String(error), headers: new Headers() }));
    if (answer.status === 201) accepted++;
    else if (answer.status === 503 && /event loop/.test(JSON.stringify(answer.body))) await sleep(1000); // a busy machine's collector can stall the loop too: that shedding passes
    else shed = answer;
    await sleep(150); // the heap is sampled once a second: let it see each step
  }
  t.ok(shed, `a submission was refused after ${accepted} accepted`);
  t.equal(shed?.status, 503, `with 503, not a dead process (${JSON.stringify(shed?.body).slice(0, 300)})`);
  t.match(shed?.body, { error: { code: 'SLUICE_ERR_OVERLOADED', message: /heap .*--max-heap-used-mb/ } });
  t.equal(shed?.headers.get('retry-after'), '1');
  t.ok(scheduler.proc.running, 'the scheduler is running');
  t.match((await http.get('/health')).body, { status: 'ok' }, '/health answers');
});

t.test('the dashboard stream: a burst of large errors makes a bounded frame, and the stream lives', async (t) => {
  const scheduler = await startScheduler(t);
  const http = api(scheduler.url);
  const events = await readSse(`${scheduler.url}/events`, {}, t);
  await events.until((e) => e.some((m) => m.event === 'snapshot'));
  // One task fails with a 60 kB message; 300 tasks depend on it and fail with it, in one tick.
  await http.post('/tasks', { fn: 'fail', args: ['e'.repeat(60_000)], key: 'root-failure' });
  await http.post('/tasks', { tasks: Array.from({ length: 300 }, (_, i) => ({ fn: 'inc', args: [{ $future: 'root-failure' }], key: `dependant-${i}` })) });
  await startWorker(t, scheduler.url);
  const seen = await events.until((e) => e.filter((m) => m.event === 'tasks').reduce((n, m) => n + JSON.parse(m.data).totals.error, 0) > 0, 20_000);
  await sleep(1000);
  const frames = events.events.filter((m) => m.event === 'tasks');
  const largest = Math.max(...frames.map((m) => m.data.length));
  t.ok(largest < MB, `the largest tasks frame is ${largest} characters`);
  const errors = frames.flatMap((m) => JSON.parse(m.data).errors as Array<{ error: { message: string } }>);
  const dropped = frames.reduce((n, m) => n + (JSON.parse(m.data).errorsDropped ?? 0), 0);
  t.equal(errors.length + dropped, 301, 'every error is listed or counted');
  t.ok(seen.length > 0 && errors.every((e) => e.error.message.length <= 4096), 'messages are shortened in the stream');
  t.equal((await http.get('/futures/dependant-7')).body.error.message.length, 60_000, 'the stored error is whole');
});

t.test('waiting calls are bounded in number; a caller that leaves makes room', async (t) => {
  const scheduler = await startScheduler(t, { env: { SLUICE_MAX_WAITING_CALLS: '3' } });
  const http = api(scheduler.url);
  t.equal((await http.post('/tasks', { fn: 'nobodyRunsThis', key: 'w' })).status, 201);
  const controllers = [1, 2, 3].map(() => new AbortController());
  const waiting = controllers.map((c, i) =>
    fetch(`${scheduler.url}/${['queues/w/get', 'flags/w', 'futures/w/result'][i]}?timeout=30`, { method: i === 0 ? 'POST' : 'GET', signal: c.signal }).catch(() => undefined),
  );
  await sleep(300);
  await waitFor(async () => (await http.get('/queues/w')).body.getters === 1, 'the getter to wait');
  const refused = await http.post('/queues/w/get?timeout=5');
  t.equal(refused.status, 503);
  t.match(refused.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /3 callers are waiting.*--max-waiting-calls/ });
  const gather = await http.post('/gather', { keys: ['w'], timeout: 5 });
  t.equal(gather.status, 503, 'a gather waits too');
  t.equal((await http.post('/queues/w/get?timeout=0')).status, 408, 'a call that does not wait is not counted');
  controllers[0].abort();
  await waiting[0];
  // Nobody waits on the queue any more: it is forgotten.
  await waitFor(async () => (await http.get('/queues/w')).status === 404, 'the getter to leave');
  const later = http.post('/locks/w/acquire?timeout=30');
  t.equal((await later).status, 200, 'a free lock is granted without waiting');
  const room = await http.post('/queues/w/get?timeout=0.2');
  t.equal(room.status, 408, 'there is room to wait again');
  for (const c of controllers) c.abort();
  await Promise.all(waiting);
});

t.test('queues: waiting puts, items and replies are bounded', async (t) => {
  const scheduler = await startScheduler(t, {
    env: { SLUICE_MAX_WAITING_PUT_BYTES: String(2 * MB), SLUICE_MAX_REPLY_BYTES: String(2 * MB), SLUICE_MAX_QUEUE_ITEMS: '20' },
  });
  const http = api(scheduler.url);
  const item = 'q'.repeat(600_000);
  t.equal((await http.put('/queues/full', { maxsize: 2 })).status, 200);
  t.equal((await http.post('/queues/full/put', { items: [1, 2] })).status, 201);
  const controller = new AbortController();
  const parked = fetch(`${scheduler.url}/queues/full/put?timeout=30`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ items: [item, item] }),
    signal: controller.signal,
  }).catch(() => undefined);
  await waitFor(async () => (await http.get('/queues/full')).body.putters === 1, 'the put to wait');
  const second = await http.post('/queues/full/put?timeout=30', { items: [item, item] });
  t.equal(second.status, 503, 'puts waiting for room hold at most --max-waiting-put-bytes');
  t.match(second.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /--max-waiting-put-bytes/ });
  const never = await http.post('/queues/full/put?timeout=30', { item: 'q'.repeat(2_100_000) });
  t.equal(never.status, 413, 'a put larger than the whole budget can never wait');
  t.match(never.body.error, { code: 'SLUICE_ERR_TOO_LARGE', message: /cannot wait for room.*--max-waiting-put-bytes/ });
  t.same((await http.get('/queues/full')).body, { name: 'full', size: 2, maxsize: 2, getters: 0, putters: 1, leased: 0 }, 'the refused puts are not waiting');
  controller.abort();
  await parked;

  for (let i = 0; i < 5; i++) t.equal((await http.post('/queues/big/put', { item })).status, 201);
  const first = await http.post('/queues/big/get?batch=5');
  t.equal(first.body.items.length, 3, 'a get takes what fits in --max-reply-bytes');
  t.equal((await http.post('/queues/big/get?batch=5')).body.items.length, 2, 'the rest comes next');

  // 'full' holds 2 items: with 18 more, the queues hold the 20 allowed.
  const many = await http.post('/queues/count/put', { items: Array.from({ length: 18 }, (_, i) => i) });
  t.equal(many.status, 201);
  const over = await http.post('/queues/count/put', { items: [19, 20] });
  t.equal(over.status, 503, 'items in all queues are bounded');
  t.match(over.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /--max-queue-items \(20\)/ });
  t.equal((await http.get('/queues/count')).body.size, 18, 'nothing of the refused put was stored');
  await http.post('/queues/count/get?batch=5');
  t.equal((await http.post('/queues/count/put', { items: [19, 20] })).status, 201, 'room again once items were taken');

  const [key] = (await http.post('/scatter', { data: [item] })).body.keys;
  const gathered = await http.post('/gather', { keys: [key, key, key, key] });
  t.equal(gathered.status, 413, 'a gather answers at most --max-reply-bytes');
  t.match(gathered.body.error, { code: 'SLUICE_ERR_TOO_LARGE', message: /--max-reply-bytes/ });
  t.equal((await http.post('/gather', { keys: [key, key, key] })).status, 200);
});

t.test('names: queues, channels and held leases are bounded in number', async (t) => {
  const scheduler = await startScheduler(t, { env: { SLUICE_MAX_QUEUES: '2', SLUICE_MAX_CHANNELS: '2', SLUICE_MAX_LEASES: '2' } });
  const http = api(scheduler.url);
  t.equal((await http.post('/queues/one/put', { item: 1 })).status, 201);
  t.equal((await http.put('/queues/two', {})).status, 200);
  const queue = await http.post('/queues/three/put', { item: 1 });
  t.equal(queue.status, 503);
  t.match(queue.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /2 queues.*--max-queues/ });
  t.equal((await http.get('/queues/three')).status, 404, 'the refused queue does not exist');
  t.equal((await http.post('/queues/one/put', { item: 2 })).status, 201, 'existing queues take puts');

  await http.put('/channels/one', {});
  await http.post('/channels/two/append', { tasks: [{ fn: 'inc', args: [1] }] });
  const channel = await http.post('/channels/three/append', { tasks: [{ fn: 'inc', args: [2], key: 'refused-append' }] });
  t.equal(channel.status, 503);
  t.match(channel.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /2 channels.*--max-channels/ });
  t.equal((await http.get('/futures/refused-append')).status, 404, 'nothing of the refused append was stored');
  t.equal((await http.put('/channels/three', {})).status, 503);

  const a = await http.post('/locks/a/acquire');
  t.equal((await http.post('/semaphores/b/acquire', { maxLeases: 5 })).status, 200);
  const lease = await http.post('/locks/c/acquire');
  t.equal(lease.status, 503);
  t.match(lease.body.error, { code: 'SLUICE_ERR_OVERLOADED', message: /2 leases.*--max-leases/ });
  t.equal((await http.post('/locks/a/release', { leaseId: a.body.leaseId })).status, 204);
  t.equal((await http.post('/locks/c/acquire')).status, 200, 'room again once a lease was released');
});
