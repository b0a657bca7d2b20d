// Dask's coordination primitives in sluice, between two clients: a queue of
// futures, an event, pub/sub, and a lock whose fencing token guards a write.
// Run against `npm start`:  node --import tsx examples/coordination.ts
import { Client, type Future } from 'sluice/client';

const url = process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786';
const producer = await Client.connect(url);
const consumer = await Client.connect(url);
const run = Date.now(); // fresh names each run

// A queue of futures: the producer submits and puts; the consumer takes each future once.
const jobs = `doubles-${run}`;
for (const x of [1, 2, 3]) await producer.queue(jobs).put(producer.submit('double', [x]));
const doubled: number[] = [];
for await (const future of consumer.queue<Future<number>>(jobs)) {
  doubled.push(await future); // a Future, held by the consumer's client
  if (doubled.length === 3) break;
}
console.log(doubled); // [ 2, 4, 6 ]

// An event (Dask's Event) and pub/sub: the consumer subscribes and waits; the producer publishes and sets.
const news = await consumer.topic<string>(`news-${run}`).subscribe();
const ready = consumer.event(`ready-${run}`).wait({ timeoutMs: 10_000 });
await producer.topic<string>(`news-${run}`).publish('results are in');
await producer.event(`ready-${run}`).set();
console.log(`ready: ${await ready}, news: ${(await news.next()).value}`);

// A lock: the write counts only while the lease behind its fencing token is held.
await consumer.lock(`publish-${run}`).runExclusive(async (lease) => {
  await consumer.variable(`latest-${run}`).set({ doubles: doubled.length }, { fence: lease });
  console.log(`wrote under lock token ${lease.token}`);
});
console.log(await producer.variable(`latest-${run}`).get()); // { doubles: 3 }

await producer.close();
await consumer.close();
