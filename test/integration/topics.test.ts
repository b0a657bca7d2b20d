// Pub/sub topics against the real scheduler: fan-out in order, resuming, gaps, bad input.
import t from 'tap';
import { Client } from '../../client/index.ts';
import { api, readSse, startScheduler } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/processes.ts';

const scheduler = await startScheduler(t);
const curl = api(scheduler.url);

t.test('every subscriber gets every message, in publish order', async (t) => {
  const readers = await Promise.all([1, 2, 3].map(() => readSse(`${scheduler.url}/topics/news/events`, {}, t)));
  const clients = await Promise.all([1, 2].map(() => Client.connect(scheduler.url)));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  const subscriptions = await Promise.all(clients.map((client) => client.topic<{ from: string; i: number }>('news').subscribe()));
  await waitFor(async () => (await curl.get('/topics/news')).body.subscribers === 5, 'five subscribers');

  // Two publishers at once: whatever order the scheduler takes them in, every subscriber sees that one order.
  const publisher = await Client.connect(scheduler.url);
  t.teardown(() => publisher.close());
  const topic = publisher.topic<{ from: string; i: number }>('news');
  const delivered: number[] = [];
  await Promise.all([
    (async () => {
      for (let i = 0; i < 100; i++) delivered.push((await curl.post('/topics/news/publish', { message: { from: 'curl', i } })).body.delivered);
    })(),
    (async () => {
      for (let i = 0; i < 100; i++) delivered.push(await topic.publish({ from: 'client', i }));
    })(),
  ]);
  t.ok(delivered.every((n) => n === 5), 'each publish reached the five subscribers');

  const sseOrders = await Promise.all(
    readers.map(async (reader) => (await reader.until((e) => e.length >= 200)).map((e) => JSON.parse(e.data) as { from: string; i: number })),
  );
  const clientOrders = await Promise.all(
    subscriptions.map(async (subscription) => {
      const got: Array<{ from: string; i: number }> = [];
      for await (const message of subscription) {
        got.push(message);
        if (got.length === 200) break;
      }
      return got;
    }),
  );
  const [first, ...others] = [...sseOrders, ...clientOrders];
  for (const order of others) t.same(order, first, 'the same order for every subscriber');
  for (const from of ['curl', 'client']) {
    t.same(first.filter((m) => m.from === from).map((m) => m.i), Array.from({ length: 100 }, (_, i) => i), `each of ${from}'s messages once, in the order it published them`);
  }
  t.same(readers[0].events.slice(0, 3).map((e) => e.event), ['message', 'message', 'message']);
  t.match(readers[0].events[0].id, /^[0-9a-z]+\.\d+-1$/, 'ids are <incarnation>-<seq>');
  t.equal((await curl.get('/topics/news')).body.lastSeq, 200);
});

t.test('a subscriber that reconnects with Last-Event-ID gets what it missed; beyond the replay buffer, a gap', async (t) => {
  const first = await readSse(`${scheduler.url}/topics/resume/events`, {}, t);
  await waitFor(async () => (await curl.get('/topics/resume')).body.subscribers === 1, 'the subscriber');
  for (let i = 0; i < 5; i++) await curl.post('/topics/resume/publish', { message: i });
  await first.until((e) => e.length >= 5);
  first.close();
  const lastId = first.events[2].id as string; // it saw 0, 1, 2 and wants the rest
  const resumed = await readSse(`${scheduler.url}/topics/resume/events`, { 'last-event-id': lastId }, t);
  t.same((await resumed.until((e) => e.length >= 2)).map((e) => JSON.parse(e.data)), [3, 4], 'the messages after its id, from the replay buffer');
  resumed.close();

  // More than the buffer (1 MiB) since its id: told how many it missed, then the rest.
  const lastSeen = resumed.events[1].id as string;
  const kib = 'k'.repeat(1024);
  for (let i = 0; i < 1200; i++) await curl.post('/topics/resume/publish', { message: { i, kib } });
  const late = await readSse(`${scheduler.url}/topics/resume/events`, { 'last-event-id': lastSeen }, t);
  const events = await late.until((e) => e.length > 0 && (JSON.parse(e.at(-1)?.data ?? '{}') as { i?: number }).i === 1199);
  t.equal(events[0].event, 'gap');
  const { missed } = JSON.parse(events[0].data) as { missed: number };
  const replayed = events.slice(1).map((e) => (JSON.parse(e.data) as { i: number }).i);
  t.ok(missed > 0, `told it missed ${missed}`);
  t.equal(missed + replayed.length, 1200, 'missed plus replayed is everything published since its id');
  t.same(replayed, Array.from({ length: replayed.length }, (_, i) => 1200 - replayed.length + i), 'the newest, in order');

  const stranger = await readSse(`${scheduler.url}/topics/resume/events`, { 'last-event-id': 'someotherrun.1-7' }, t);
  const told = await stranger.until((e) => e.length >= 1);
  t.same(JSON.parse(told[0].data), { missed: null, reason: 'the scheduler restarted, or forgot this idle topic' });
});

t.test('nobody listening: delivered 0, nothing kept; bad input is a 400', async (t) => {
  t.same((await curl.post('/topics/empty/publish', { message: 'into the void' })).body, { delivered: 0 });
  const missing = await curl.post('/topics/empty/publish', {});
  t.equal(missing.status, 400);
  t.match(missing.body.error.message, /body\.message: message is required/);
  t.equal((await curl.post('/topics/empty/publish', { message: 1, extra: 2 })).status, 400);
  t.match((await curl.post('/topics/bad name/publish', { message: 1 })).body.error.message, /params\.name: a topic name is 1 to 128 characters/);
  t.same((await curl.post('/topics/empty/publish', { message: null })).body, { delivered: 0 }, 'null is a message');
});

t.test('a client subscription ends when the client closes', async (t) => {
  const client = await Client.connect(scheduler.url);
  const subscription = await client.topic('closing').subscribe();
  await curl.post('/topics/closing/publish', { message: 'before' });
  t.same(await subscription.next(), { done: false, value: 'before' });
  const waiting = subscription.next();
  await client.close();
  t.same(await waiting, { done: true, value: undefined }, 'a waiting iteration ends');
  await waitFor(async () => (await curl.get('/topics/closing')).body.subscribers === 0, 'the scheduler to drop the subscriber');
});
