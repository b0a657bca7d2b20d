// Sources: iterables, queues (an in-memory stand-in behind the QueueLike
// interface), and Server-Sent Events from a real HTTP server on loopback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { type ServerSentEvent, Stream } from '../../stream/index.ts';
import { type Teardown, waitFor } from '../helpers/processes.ts';
import { deferred, LeasingMemoryQueue, MemoryQueue, settled, within } from '../helpers/streams.ts';

t.test('fromIterable: arrays, generators and async iterables, with backpressure', async (t) => {
  const fromArray = Stream.fromIterable([1, 2, 3]);
  const a = fromArray.map((x) => x * 10).sinkToList();
  t.same(a, [], 'nothing flows before start()');
  await within(fromArray.start(), 2000, 'an array source');
  t.same(a, [10, 20, 30]);

  let produced = 0;
  async function* slow(): AsyncGenerator<number> {
    for (let i = 0; i < 5; i++) {
      produced++;
      yield i;
    }
  }
  const gate = deferred();
  const fromAsync = Stream.fromIterable(slow());
  const got: number[] = [];
  fromAsync.sink(async (x) => {
    got.push(x);
    if (x === 1) await gate.promise;
  });
  const done = fromAsync.start();
  await new Promise((r) => setTimeout(r, 20));
  t.equal(produced, 2, 'the source does not read ahead of what the pipeline took');
  gate.resolve();
  await within(done, 2000, 'an async source');
  t.same(got, [0, 1, 2, 3, 4]);
});

t.test('end() stops a source that is waiting; the pipeline still finishes', async (t) => {
  const never: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<number>>(() => undefined) }),
  };
  const source = Stream.fromIterable(never);
  const lists = source.partition(3).sinkToList();
  const done = source.start();
  t.notOk(await settled(done));
  await within(source.end(), 2000, 'end of a source stuck in next()');
  await within(done, 2000, 'start() to resolve');
  t.same(lists, []);
});

t.test('fromQueue with an async get(): items in order, end() abandons the pending get', async (t) => {
  const queue = new MemoryQueue<string>();
  queue.put('a');
  queue.put('b');
  const source = Stream.fromQueue(queue);
  const out = source.map((s) => s.toUpperCase()).sinkToList();
  const done = source.start();
  await within(
    (async () => {
      while (out.length < 2) await new Promise((r) => setTimeout(r, 2));
    })(),
    2000,
    'the queued items',
  );
  queue.put('c');
  await within(
    (async () => {
      while (out.length < 3) await new Promise((r) => setTimeout(r, 2));
    })(),
    2000,
    'an item put later',
  );
  t.same(out, ['A', 'B', 'C']);
  await within(source.end(), 2000, 'end');
  await within(done, 2000, 'start() to resolve');
  t.equal(queue.abandoned, 1, 'the get that was waiting was given up through its signal');
  queue.put('d');
  t.equal(queue.size, 1, 'nothing reads the queue any more');
});

t.test('fromQueue with an async iterable, and cancel()', async (t) => {
  const queue = new MemoryQueue<number>();
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => ({ next: async () => ({ done: false, value: await queue.get() }) }),
  };
  const controller = new AbortController();
  const source = Stream.fromQueue(iterable, { signal: controller.signal });
  const out = source.sinkToList();
  const done = source.start();
  queue.put(1);
  queue.put(2);
  await within(
    (async () => {
      while (out.length < 2) await new Promise((r) => setTimeout(r, 2));
    })(),
    2000,
    'two items',
  );
  controller.abort(new Error('shutting down'));
  await t.rejects(within(done, 2000, 'start() to reject'), { message: 'shutting down' });
  t.same(out, [1, 2]);
});

/** An SSE server: sends `total` numbered events, dropping the connection after every `dropEvery`; honours Last-Event-ID. */
async function sseServer(t: Teardown, total: number, dropEvery: number): Promise<{ url: string; connections: string[] }> {
  const connections: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/refuse') {
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"error":{"code":"SLUICE_ERR_FORBIDDEN","message":"no"}}');
      return;
    }
    const last = Number(req.headers['last-event-id'] ?? 0);
    connections.push(String(req.headers['last-event-id'] ?? ''));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let sent = 0;
    for (let id = last + 1; id <= total; id++) {
      const event = id % 2 === 0 ? 'even' : 'odd';
      res.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify({ n: id })}\n\n`);
      if (++sent === dropEvery) {
        setTimeout(() => res.destroy(), 10); // the connection drops mid-stream, once what was written is out
        return;
      }
    }
    // then stay open, like a live stream with nothing new
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections };
}

t.test('fromEventSource: every event once, in order, across dropped connections', async (t) => {
  const { url, connections } = await sseServer(t, 10, 4);
  const source = Stream.fromEventSource(`${url}/events`, { minDelayMs: 10 });
  t.teardown(() => source.cancel());
  const numbers = source.map((e: ServerSentEvent) => (JSON.parse(e.data) as { n: number }).n).sinkToList();
  const done = source.start();
  await within(
    (async () => {
      while (numbers.length < 10) await new Promise((r) => setTimeout(r, 5));
    })(),
    5000,
    'ten events',
  );
  t.same(numbers, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.same(connections, ['', '4', '8'], 'it reconnected twice, resuming after the last id each time');
  t.equal(source.lastEventId, '10');
  await within(source.end(), 2000, 'end');
  await within(done, 2000, 'start() to resolve');
});

t.test('fromEventSource: only the events asked for; a refusal stops the source with its error', async (t) => {
  const { url } = await sseServer(t, 6, 100);
  const source = Stream.fromEventSource(`${url}/events`, { events: ['even'] });
  t.teardown(() => source.cancel());
  const ids = source.pluck('id').sinkToList();
  const done = source.start();
  await within(
    (async () => {
      while (ids.length < 3) await new Promise((r) => setTimeout(r, 5));
    })(),
    5000,
    'the even events',
  );
  t.same(ids, ['2', '4', '6']);
  await source.end();
  await done;

  const refused = Stream.fromEventSource(`${url}/refuse`);
  await t.rejects(within(refused.start(), 5000, 'the refusal'), { code: 'SLUICE_ERR_FORBIDDEN' });
});

t.test('fromEventSource pauses reading while the pipeline is busy (backpressure)', async (t) => {
  const { url } = await sseServer(t, 5, 100);
  const gate = deferred();
  const source = Stream.fromEventSource(`${url}/events`);
  t.teardown(() => source.cancel());
  const seen: string[] = [];
  source.sink(async (e) => {
    seen.push(e.id ?? '');
    if (e.id === '1') await gate.promise;
  });
  const done = source.start();
  await new Promise((r) => setTimeout(r, 50));
  t.same(seen, ['1'], 'one event taken; the rest wait');
  gate.resolve();
  await within(
    (async () => {
      while (seen.length < 5) await new Promise((r) => setTimeout(r, 5));
    })(),
    5000,
    'the rest',
  );
  t.same(seen, ['1', '2', '3', '4', '5']);
  await source.end();
  await done;
});

t.test('fromQueue with ack: an item is acknowledged once every branch is done with it; one a step failed on goes back', async (t) => {
  const queue = new LeasingMemoryQueue<number>();
  for (const x of [1, 2, 3]) queue.put(x);
  const source = Stream.fromQueue(queue, { ack: true });
  const gate = deferred();
  const slow: number[] = [];
  source.buffer(5).sink(async (x) => {
    await gate.promise;
    slow.push(x);
  });
  source
    .map((x) => {
      if (x === 2) throw new Error('not 2');
      return x;
    }, { onError: 'skip' })
    .sinkToList();
  const running = source.start();
  await waitFor(() => queue.leased === 3, 'three items leased');
  t.same(queue.acked, [], 'none acknowledged while the slow branch holds them');
  gate.resolve();
  await waitFor(() => queue.acked.length === 3, 'the acks');
  t.same(queue.acked, [1, 2, 3], 'a failure skipped by its step counts as done');
  t.equal(source.acked, 3);

  const failing = new LeasingMemoryQueue<number>();
  failing.put(7);
  const strict = Stream.fromQueue(failing, { ack: true });
  strict.map(() => {
    throw new Error('cannot');
  });
  await t.rejects(within(strict.start(), 2000, 'the source to stop'), { message: 'cannot' });
  t.same(failing.released, [7], 'the failed item went back to the queue');
  t.equal(failing.size, 1);
  t.equal(strict.returned, 1);

  await source.end();
  await running;
  t.throws(() => Stream.fromQueue(new MemoryQueue<number>() as never, { ack: true }), TypeError, 'ack needs a queue that leases');
});

t.test('fromEventSource: doneEventId is the last event done with, every one before it too (what to resume from after a crash)', async (t) => {
  const { url } = await sseServer(t, 5, 100);
  const gate = deferred();
  const source = Stream.fromEventSource(`${url}/events`);
  t.teardown(() => source.cancel());
  const written: string[] = [];
  source.buffer(10).sink(async (e) => {
    if (e.id === '2') await gate.promise;
    written.push(e.id ?? '');
  });
  const done = source.start();
  await waitFor(() => source.lastEventId === '5', 'all five events taken');
  await waitFor(() => source.doneEventId === '1', 'event 1 done with');
  t.same(written, ['1'], 'events 2 to 5 wait in the buffer behind 2');
  t.equal(source.doneEventId, '1', 'taken is not done: resuming from lastEventId would skip 2 to 5');
  gate.resolve();
  await waitFor(() => source.doneEventId === '5', 'every event done with');
  await source.end();
  await done;
});
