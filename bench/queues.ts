// Coordination benchmarks: durable queue put+get (one client, several clients,
// batched, and through the TypeScript client), lock acquire+release, and
// pub/sub one-way latency, publish to receipt, with 1, 10 and 100
// subscribers. Prints one JSON document. `--quick` for a smoke run.
import { Client } from '../client/index.ts';
import { readSse } from '../test/helpers/cluster.ts';
import { Cleanup, cluster, percentile, postJson, print, quick, type Result, round } from './lib.ts';

const cleanup = new Cleanup();
const results: Result[] = [];

try {
  const { url } = await cluster(cleanup);
  const scale = quick ? 0.1 : 1;

  // One client: put an item, then get it, each request waiting for its answer (every put is committed first).
  // 200 of them first warm up, as in the peers' runs.
  {
    const putThenGet = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        await postJson(`${url}/queues/single/put`, { item: { i } });
        await postJson(`${url}/queues/single/get?timeout=10`, {});
      }
    };
    await putThenGet(200);
    const n = Math.round(2000 * scale);
    const started = performance.now();
    await putThenGet(n);
    const seconds = (performance.now() - started) / 1000;
    results.push({ workload: 'queue put then get, one item per request, 1 client', value: round((2 * n) / seconds, 0), unit: 'ops/s', params: { items: n, ops: 2 * n, warmUp: 200 } });
  }

  // Several clients at once: half put, half get, one item per request. Group commit shares transactions.
  for (const clients of [10, 50]) {
    const n = Math.round(20_000 * scale);
    const pairs = clients / 2;
    const perClient = Math.ceil(n / pairs);
    const started = performance.now();
    await Promise.all([
      ...Array.from({ length: pairs }, async (_, p) => {
        for (let i = 0; i < perClient; i++) await postJson(`${url}/queues/concurrent-${clients}/put`, { item: { p, i } });
      }),
      ...Array.from({ length: pairs }, async () => {
        for (let i = 0; i < perClient; i++) await postJson(`${url}/queues/concurrent-${clients}/get?timeout=30`, {});
      }),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const ops = 2 * perClient * pairs;
    results.push({ workload: `queue put and get, one item per request, ${pairs} putters + ${pairs} getters`, value: round(ops / seconds, 0), unit: 'ops/s', params: { items: ops / 2, ops, clients } });
  }

  // Batches: 100 items per put, up to 100 per get.
  {
    const batch = 100;
    const rounds = Math.round(200 * scale);
    const started = performance.now();
    let got = 0;
    await Promise.all([
      (async () => {
        for (let r = 0; r < rounds; r++) await postJson(`${url}/queues/batched/put`, { items: Array.from({ length: batch }, (_, i) => ({ r, i })) });
      })(),
      (async () => {
        while (got < batch * rounds) got += ((await postJson(`${url}/queues/batched/get?batch=${batch}&timeout=30`, {})) as { items: unknown[] }).items.length;
      })(),
    ]);
    const seconds = (performance.now() - started) / 1000;
    results.push({ workload: `queue put and get in batches of ${batch}, 1 putter + 1 getter`, value: round((batch * rounds) / seconds, 0), unit: 'items/s', params: { items: batch * rounds, batch } });
  }

  // The TypeScript client: await queue.put(), then await queue.get().
  {
    const client = await Client.connect(url);
    cleanup.teardown(() => client.close());
    const queue = client.queue<number>('through-client');
    const n = Math.round(1000 * scale);
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      await queue.put(i);
      if ((await queue.get()) !== i) throw new Error('out of order');
    }
    const seconds = (performance.now() - started) / 1000;
    results.push({ workload: 'queue put then get through the TypeScript client, 1 client', value: round((2 * n) / seconds, 0), unit: 'ops/s', params: { items: n, ops: 2 * n } });
  }

  // Lock round trips, uncontended: acquire, then release (both committed before they are answered).
  {
    const n = Math.round(1000 * scale);
    const started = performance.now();
    for (let i = 0; i < n; i++) {
      const { leaseId } = (await postJson(`${url}/locks/bench/acquire`, {})) as { leaseId: string };
      await postJson(`${url}/locks/bench/release`, { leaseId });
    }
    const seconds = (performance.now() - started) / 1000;
    results.push({ workload: 'lock acquire then release, 1 client, uncontended', value: round(n / seconds, 0), unit: 'acquire+release/s', params: { rounds: n } });
  }

  // Pub/sub: S subscribers on one topic, 100 publishes/s; latency from the publish request to each subscriber's receipt.
  for (const subscribers of quick ? [1, 10] : [1, 10, 100]) {
    const topic = `latency-${subscribers}`;
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    const streams = await Promise.all(
      Array.from({ length: subscribers }, () =>
        readSse(`${url}/topics/${topic}/events`, {}, undefined, (event) => {
          if (event.event !== 'message') return;
          const sent = sentAt.get((JSON.parse(event.data) as { i: number }).i);
          if (sent !== undefined) latencies.push(performance.now() - sent);
        }),
      ),
    );
    const messages = quick ? 50 : 300;
    for (let i = 0; i < messages; i++) {
      const tick = performance.now();
      sentAt.set(i, tick);
      const { delivered } = (await postJson(`${url}/topics/${topic}/publish`, { message: { i } })) as { delivered: number };
      if (delivered !== subscribers) throw new Error(`published to ${delivered} of ${subscribers} subscribers`);
      const wait = 10 - (performance.now() - tick);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const deadline = Date.now() + 10_000;
    while (latencies.length < messages * subscribers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const stream of streams) stream.close();
    latencies.sort((a, b) => a - b);
    const params = { subscribers, publishesPerSecond: 100, messages, received: latencies.length, expected: messages * subscribers };
    results.push({ workload: `pub/sub one-way latency, publish to receipt, ${subscribers} subscriber(s), p50`, value: round(percentile(latencies, 50)), unit: 'ms', params });
    results.push({ workload: `pub/sub one-way latency, publish to receipt, ${subscribers} subscriber(s), p99`, value: round(percentile(latencies, 99)), unit: 'ms', params });
  }
} finally {
  await cleanup.run();
}

print('queues', results);
