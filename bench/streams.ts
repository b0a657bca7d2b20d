// Stream benchmarks: items per second through a local map pipeline (sync and
// async steps), and through scatter → map → buffer(32) → gather on one real
// local worker, with scatter one item at a time and in batches of 100.
// Prints one JSON document. `--quick` for a smoke run.
import { Client } from '../client/index.ts';
import { Stream } from '../stream/index.ts';
import { Cleanup, cluster, print, quick, type Result, round } from './lib.ts';

const cleanup = new Cleanup();
const results: Result[] = [];

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

try {
  // Local: a source emitting into map → filter → sink, all synchronous steps.
  {
    const n = quick ? 100_000 : 1_000_000;
    let sum = 0;
    const source = Stream.fromIterable(range(n));
    source
      .map((x) => x * 2)
      .filter((x) => x % 3 !== 0)
      .sink((x) => void (sum += x));
    const started = performance.now();
    await source.start();
    const seconds = (performance.now() - started) / 1000;
    if (sum === 0) throw new Error('nothing arrived');
    results.push({ workload: 'local pipeline: fromIterable → map → filter → sink (sync steps)', value: round(n / seconds, 0), unit: 'items/s', params: { items: n } });
  }

  // Local: await emit(x) in a loop, with an async map and an async sink.
  {
    const n = quick ? 20_000 : 200_000;
    const source = new Stream<number>();
    let count = 0;
    source
      .map(async (x) => x + 1)
      .sink(async () => {
        count++;
      });
    const started = performance.now();
    for (let x = 0; x < n; x++) await source.emit(x);
    await source.end();
    const seconds = (performance.now() - started) / 1000;
    if (count !== n) throw new Error(`only ${count} of ${n} items arrived`);
    results.push({ workload: 'local pipeline: await emit → async map → async sink', value: round(n / seconds, 0), unit: 'items/s', params: { items: n } });
  }

  // The cluster: scatter → map('inc') → buffer(32) → gather → sink, one worker.
  {
    const { url } = await cluster(cleanup, { workers: 1, concurrency: 64 });
    const client = await Client.connect(url);
    cleanup.teardown(() => client.close());
    const run = async (n: number, offset: number, batch: number): Promise<number> => {
      const source = Stream.fromIterable(range(n));
      const out = source
        .map((x) => x + offset)
        .scatter(client, { batch })
        .map<number>('inc')
        .buffer(32)
        .gather()
        .sinkToList();
      const started = performance.now();
      await source.start();
      const seconds = (performance.now() - started) / 1000;
      if (out.length !== n || out[n - 1] !== n + offset) throw new Error(`wrong results: ${out.length} items, last ${out.at(-1)}`);
      return seconds;
    };
    let offset = 1_000_000;
    for (const batch of [1, 100]) {
      await run(200, (offset += 1_000_000), batch); // warm up
      const n = quick ? (batch === 1 ? 200 : 1_000) : batch === 1 ? 1_000 : 10_000;
      const seconds = await run(n, (offset += 1_000_000), batch);
      results.push({
        workload: `cluster pipeline: fromIterable → scatter${batch > 1 ? `({ batch: ${batch} })` : ''} → map(inc) → buffer(32) → gather → sink (1 worker)`,
        value: round(n / seconds, 0),
        unit: 'items/s',
        params: { items: n, scatterBatch: batch, buffer: 32, workers: 1, concurrency: 64 },
      });
    }
  }
} finally {
  await cleanup.run();
}

print('streams', results);
