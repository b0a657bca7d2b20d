// Queues against the real scheduler: FIFO, waiting, timeouts, maxsize, futures, dropped getters, bad input.
import net from 'node:net';
import t from 'tap';
import { Client, Future, TimeoutError } from '../../client/index.ts';
import { api, startScheduler, startWorker } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

const scheduler = await startScheduler(t, { args: ['--retention-ms', '300', '--body-limit', String(32 * 1024 * 1024)], env: { SLUICE_SWEEP_INTERVAL_MS: '50' } });
await startWorker(t, scheduler.url, { concurrency: 4 });
const curl = api(scheduler.url);

/** A request that has not answered yet, and whether it has. */
function pending<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { promise, settled: () => settled };
}

t.test('FIFO: items come out in the order they were put, each to one getter', async (t) => {
  for (let i = 1; i <= 10; i++) t.equal((await curl.post('/queues/fifo/put', { item: { n: i } })).status, 201);
  const batch = await curl.post('/queues/fifo/put', { items: [11, 12, 13, 14, 15] });
  t.same(batch.body, { size: 15 });
  t.match((await curl.get('/queues/fifo')).body, { name: 'fifo', size: 15, maxsize: null, getters: 0, putters: 0 });
  t.same((await curl.post('/queues/fifo/get')).body, { items: [{ n: 1 }] });
  t.same((await curl.post('/queues/fifo/get?batch=3')).body, { items: [{ n: 2 }, { n: 3 }, { n: 4 }] });
  const rest = (await curl.post('/queues/fifo/get?batch=100')).body.items;
  t.same(rest, [{ n: 5 }, { n: 6 }, { n: 7 }, { n: 8 }, { n: 9 }, { n: 10 }, 11, 12, 13, 14, 15], 'a batch takes what is there');
  t.equal((await curl.get('/queues/fifo')).body.size, 0);

  // Many getters at once: every item once, and each getter sees its own items in order.
  await curl.post('/queues/shared/put', { items: Array.from({ length: 300 }, (_, i) => i) });
  const taken = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const mine: number[] = [];
      for (;;) {
        const answer = await curl.post('/queues/shared/get?timeout=0');
        if (answer.status === 408) return mine;
        mine.push(...answer.body.items);
      }
    }),
  );
  t.same(taken.flat().sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i), 'each item delivered exactly once');
  for (const mine of taken) t.same(mine, [...mine].sort((a, b) => a - b), 'in queue order within each getter');
});

t.test('a waiting get is woken by a later put; getters are served in the order they came', async (t) => {
  const first = pending(curl.post('/queues/wake/get?timeout=20'));
  await waitFor(async () => (await curl.get('/queues/wake')).body.getters === 1, 'the first getter to wait');
  const second = pending(curl.post('/queues/wake/get?timeout=20'));
  await waitFor(async () => (await curl.get('/queues/wake')).body.getters === 2, 'the second getter to wait');
  t.notOk(first.settled() || second.settled(), 'both wait while the queue is empty');
  t.same((await curl.post('/queues/wake/put', { item: 'a' })).body, { size: 0 }, 'the put went straight to a waiting getter');
  t.same((await first.promise).body, { items: ['a'] }, 'the getter that came first gets the first item');
  t.notOk(second.settled());
  await curl.post('/queues/wake/put', { item: 'b' });
  t.same((await second.promise).body, { items: ['b'] });
});

t.test('timeouts: a get on an empty queue and a put on a full one answer 408 and change nothing', async (t) => {
  const started = Date.now();
  const empty = await curl.post('/queues/slow/get?timeout=0.3');
  t.equal(empty.status, 408);
  t.equal(empty.body.error.code, 'SLUICE_ERR_TIMEOUT');
  t.ok(Date.now() - started >= 280, 'it waited');
  t.equal((await curl.post('/queues/slow/get?timeout=0')).status, 408, 'timeout=0 does not wait');
  await curl.put('/queues/slow', { maxsize: 1 });
  await curl.post('/queues/slow/put', { item: 1 });
  const full = await curl.post('/queues/slow/put?timeout=0.2', { item: 2 });
  t.equal(full.status, 408);
  t.match(full.body.error.message, /room for 1 in queue slow/);
  t.same((await curl.post('/queues/slow/get?batch=10')).body, { items: [1] }, 'the refused item was not stored');
});

t.test('maxsize: a put on a full queue waits for room, then goes in behind', async (t) => {
  t.match((await curl.put('/queues/bounded', { maxsize: 2 })).body, { name: 'bounded', size: 0, maxsize: 2 });
  await curl.post('/queues/bounded/put', { items: ['a', 'b'] });
  const third = pending(curl.post('/queues/bounded/put?timeout=20', { item: 'c' }));
  await waitFor(async () => (await curl.get('/queues/bounded')).body.putters === 1, 'the put to wait');
  t.notOk(third.settled(), 'the put waits while the queue is full');
  t.same((await curl.post('/queues/bounded/get')).body, { items: ['a'] });
  t.same((await third.promise).body, { size: 2 }, 'room was made; the put went in');
  t.same((await curl.post('/queues/bounded/get?batch=5')).body, { items: ['b', 'c'] });
  const tooMany = await curl.post('/queues/bounded/put', { items: [1, 2, 3] });
  t.equal(tooMany.status, 413, 'a batch that can never fit is refused at once');
  t.match(tooMany.body.error.message, /a put of 3 items can never fit queue bounded, whose maxsize is 2/);
  t.match((await curl.put('/queues/bounded', { maxsize: null })).body, { maxsize: null }, 'maxsize can be lifted');
  t.equal((await curl.post('/queues/bounded/put', { items: [1, 2, 3] })).status, 201);
  t.match((await curl.get('/queues')).body, [{ name: 'fifo' }, { name: 'shared' }, { name: 'wake' }, { name: 'slow' }, { name: 'bounded', size: 3 }]);
});

t.test('futures: the queue holds them; a second client receives Future objects', async (t) => {
  const producer = await Client.connect(scheduler.url);
  const futures = [0, 1, 2].map((i) => producer.submit<number>('sleep', [400, i * 10], { pure: false }));
  const queue = producer.queue<Future<number>>('futures');
  for (const future of futures) await queue.put(future);
  await producer.close(); // its hold goes: the queue's must keep the tasks running
  for (const future of futures) t.match((await curl.get(`/futures/${future.key}`)).body, { status: 'pending' }, 'not cancelled: the queue holds it');

  const consumer = await Client.connect(scheduler.url);
  t.teardown(() => consumer.close());
  const received: Array<Future<number>> = [];
  // TypeScript types a for-await variable as Awaited<T>; at run time an async iterator's values are not awaited.
  for await (const item of consumer.queue<Future<number>>('futures')) {
    const future = item as unknown as Future<number>;
    t.type(future, Future, 'iteration gives Future objects');
    received.push(future);
    if (received.length === 3) break;
  }
  t.same(received.map((f) => f.key), futures.map((f) => f.key), 'in the order they were put');
  t.same(await Promise.all(received), [0, 10, 20]);

  // get() gives the item; for a Future that is its result (a promise cannot resolve to an awaitable).
  await curl.post('/queues/futures/put', { item: { $future: futures[0].key } });
  t.equal(await consumer.queue<Future<number>>('futures').get({ timeoutMs: 5_000 }), 0);
});

t.test('a result in a queue outlives the retention period; taken by curl, it is forgotten after it', async (t) => {
  const { body } = await curl.post('/scatter', { data: 'kept by the queue', key: 'queued-value' });
  t.same(body.keys, ['queued-value']);
  await curl.post('/queues/retained/put', { item: { value: { $future: 'queued-value' }, note: 'nested refs are held too' } });
  await new Promise((r) => setTimeout(r, 800));
  t.equal((await curl.get('/futures/queued-value')).status, 200, 'held by the queue past the 300 ms retention');
  t.same((await curl.post('/queues/retained/get')).body.items, [{ value: { $future: 'queued-value' }, note: 'nested refs are held too' }]);
  const forgotten = await waitFor(async () => {
    const answer = await curl.get('/futures/queued-value');
    return answer.status === 404 ? answer : undefined;
  }, 'the taken result to be forgotten');
  t.equal(forgotten.body.error.code, 'SLUICE_ERR_FORGOTTEN');
});

t.test('a getter whose connection drops while it waits takes nothing', async (t) => {
  const controller = new AbortController();
  const abandoned = fetch(`${scheduler.url}/queues/dropped/get?timeout=30`, { method: 'POST', signal: controller.signal }).catch(() => 'aborted');
  await waitFor(async () => (await curl.get('/queues/dropped')).body.getters === 1, 'the getter to wait');
  controller.abort();
  t.equal(await abandoned, 'aborted');
  await waitFor(async () => (await curl.get('/queues/dropped')).status === 404, 'the scheduler to see it leave');
  await curl.post('/queues/dropped/put', { item: 'for whoever comes next' });
  t.same((await curl.post('/queues/dropped/get?timeout=0')).body, { items: ['for whoever comes next'] }, 'the item was not lost');
});

t.test('a getter whose connection fails in the middle of the reply does not lose the items', async (t) => {
  // 64 items of a megabyte: a 64 MB reply (within --max-reply-bytes, 64 MiB), far more than the sockets' buffers, so it cannot be written while the reader stalls.
  const mib = 'x'.repeat(1000 * 1000);
  for (let chunk = 0; chunk < 8; chunk++) {
    const items = Array.from({ length: 8 }, (_, i) => ({ n: chunk * 8 + i, pad: mib }));
    t.equal((await curl.post('/queues/large/put', { items })).status, 201);
  }
  const notDelivered = scheduler.proc.waitForLog((e) => String(e.msg).startsWith('queue items not delivered') && e.queue === 'large', 20_000);
  const socket = net.connect(scheduler.port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write('POST /queues/large/get?batch=64 HTTP/1.1\r\nhost: localhost\r\n\r\n');
  await new Promise<void>((resolve) => socket.once('data', () => resolve())); // the reply has begun
  socket.pause();
  socket.destroy();
  const logged = await notDelivered;
  t.equal(logged.items, 64, 'the scheduler saw the reply fail');
  const info = await waitFor(async () => {
    const answer = await curl.get('/queues/large');
    return answer.body.size === 64 ? answer.body : undefined;
  }, 'the items to be back');
  t.equal(info.size, 64);
  const again = await curl.post('/queues/large/get?batch=64&timeout=0');
  t.same(again.body.items.map((item: { n: number }) => item.n), Array.from({ length: 64 }, (_, i) => i), 'back at the front, in order');
});

t.test('idempotency keys make a retried put a no-op', async (t) => {
  const first = await curl.post('/queues/idem/put', { items: ['once'], idempotencyKey: 'put-1' });
  const retry = await curl.post('/queues/idem/put', { items: ['once'], idempotencyKey: 'put-1' });
  t.same(retry.body, first.body);
  t.same((await curl.post('/queues/idem/get?batch=10')).body, { items: ['once'] });
});

t.test('delete lets go of the futures; waiting getters go on waiting', async (t) => {
  await curl.post('/scatter', { data: 1, key: 'deleted-queue-value' });
  await curl.post('/queues/doomed/put', { items: [{ $future: 'deleted-queue-value' }, 2] });
  const waiter = pending(curl.post('/queues/doomed-later/get?timeout=20'));
  t.equal((await curl.delete('/queues/doomed')).status, 204);
  t.equal((await curl.get('/queues/doomed')).status, 404);
  t.equal((await curl.delete('/queues/doomed')).status, 404);
  await waitFor(async () => (await curl.get('/futures/deleted-queue-value')).status === 404, 'the released value to be forgotten');
  await curl.post('/queues/doomed-later/put', { item: 'x' });
  t.same((await waiter.promise).body, { items: ['x'] });
});

t.test('bad input: 400 naming the field, 404 naming the key, 413; nothing stored changes', async (t) => {
  await curl.post('/queues/guarded/put', { item: 'kept' });
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['/queues/guarded/put', {}, 400, /body\.item: item is required/],
    ['/queues/guarded/put', { items: [] }, 400, /body\.items/],
    ['/queues/guarded/put', { item: 1, extra: true }, 400, /unknown field "extra"/],
    ['/queues/guarded/put', { items: [1, { a: { $future: 'has space' } }] }, 400, /body\.items\[1\]\.a\.\$future: not a key/],
    ['/queues/guarded/put', { items: ['fine', { $future: 'no-such-key' }] }, 404, /unknown key: no-such-key/],
    ['/queues/guarded/put?timeout=soon', { item: 1 }, 400, /query\.timeout/],
    ['/queues/guarded/get?batch=0', undefined, 400, /query\.batch/],
    ['/queues/guarded/get?timeout=-1', undefined, 400, /query\.timeout/],
    ['/queues/guarded/get?batch=10001', undefined, 413, /a batch of 10001 items is over the limit of 10000/],
    ['/queues/guarded/put', { items: Array.from({ length: 10_001 }, () => 1) }, 413, /a put of 10001 items is over the limit of 10000/],
    ['/queues/bad name/put', { item: 1 }, 400, /params\.name: a queue name is 1 to 128 characters/],
  ];
  for (const [path, body, status, message] of cases) {
    const answer = await curl.post(path, body);
    t.equal(answer.status, status, path);
    t.match(answer.body.error.message, message, path);
  }
  t.match((await curl.put('/queues/guarded', { maxsize: 0 })).body.error.message, /body\.maxsize/);
  t.match((await curl.get('/queues/guarded')).body, { size: 1, maxsize: null }, 'the queue is as it was');
  t.same((await curl.post('/queues/guarded/get?batch=10')).body, { items: ['kept'] });
  t.equal((await curl.get('/queues/never-used')).status, 404);
  t.equal((await curl.post('/queues/never-used-either/put', { item: { $future: 'no-such-key' } })).status, 404);
  t.equal((await curl.get('/queues/never-used-either')).status, 404, 'a refused put creates no queue');
});

t.test('the client: puts in order, several consumers, getBatch, timeouts, maxsize', async (t) => {
  const producer = await Client.connect(scheduler.url);
  const consumers = await Promise.all([1, 2, 3].map(() => Client.connect(scheduler.url)));
  t.teardown(async () => {
    await producer.close();
    for (const c of consumers) await c.close();
  });
  const queue = producer.queue<number>('client-work', { maxsize: 50 });
  const consumed = consumers.map(async (client) => {
    const mine: number[] = [];
    for await (const item of client.queue<number>('client-work')) {
      if (item < 0) break;
      mine.push(item);
    }
    return mine;
  });
  const puts: Array<Promise<number>> = [];
  for (let i = 0; i < 200; i++) puts.push(queue.put(i)); // not awaited one by one: still sent in this order
  const sizes = await Promise.all(puts);
  t.ok(sizes.every((size) => size <= 50), 'maxsize held the producer back');
  await queue.putMany([-1, -1, -1]);
  const taken = await Promise.all(consumed);
  t.same(taken.flat().sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i), 'every item once');
  for (const mine of taken) t.same(mine, [...mine].sort((a, b) => a - b), 'each consumer sees queue order');

  await queue.putMany([1, 2, 3]);
  t.equal(await queue.qsize(), 3);
  t.same(await consumers[0].queue<number>('client-work').getBatch(10), [1, 2, 3]);
  await t.rejects(consumers[0].queue('client-work').get({ timeoutMs: 200 }), TimeoutError);
  t.equal(await producer.queue('nobody-uses-this').qsize(), 0);
  const full = producer.queue<number>('client-full', { maxsize: 1 });
  await full.put(1);
  await t.rejects(full.put(2, { timeoutMs: 200 }), TimeoutError);
  t.match(await full.info(), { size: 1, maxsize: 1 });
});
