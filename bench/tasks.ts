// Task benchmarks through the TypeScript client against a real scheduler and
// one real worker: throughput of trivial tasks, sequential submit-to-result
// latency, and a chain of dependent tasks. Prints one JSON document.
import { Client } from '../client/node.ts';
import { Cleanup, cluster, percentile, print, quick, type Result, round } from './lib.ts';

const cleanup = new Cleanup();
const results: Result[] = [];

try {
  const { url } = await cluster(cleanup, { workers: 1, concurrency: 256 });
  const client = await Client.connect(url);
  cleanup.teardown(() => client.close());

  // Throughput: submit N trivial tasks at once, run them, gather the results.
  {
    const n = quick ? 2_000 : 100_000;
    await client.gather(client.map('inc', Array.from({ length: 500 }, (_, i) => [i]), { pure: false })); // warm up
    const started = performance.now();
    const futures = client.map<number>('inc', Array.from({ length: n }, (_, i) => [i]), { pure: false });
    const values = await client.gather(futures);
    const seconds = (performance.now() - started) / 1000;
    if (values[n - 1] !== n) throw new Error('wrong result');
    results.push({ workload: 'trivial tasks: submit, run, gather (1 worker)', value: round(n / seconds, 0), unit: 'tasks/s', params: { tasks: n, concurrency: 256 } });
  }

  // Latency: one task at a time, submit to result.
  {
    const n = quick ? 100 : 1_000;
    const latencies: number[] = [];
    for (let i = 0; i < n + 50; i++) {
      const started = performance.now();
      await client.submit('inc', [i], { pure: false });
      if (i >= 50) latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    results.push({ workload: 'one task at a time, submit to result, p50', value: round(percentile(latencies, 50), 3), unit: 'ms', params: { tasks: n } });
    results.push({ workload: 'one task at a time, submit to result, p99', value: round(percentile(latencies, 99), 3), unit: 'ms', params: { tasks: n } });
  }

  // A chain: each task takes the previous one's result. A chain of 200
  // first warms up the paths a chain takes (and Dask's bench does the same).
  {
    const chain = async (n: number): Promise<number> => {
      const started = performance.now();
      let previous = client.submit<number>('inc', [0], { pure: false });
      for (let i = 1; i < n; i++) previous = client.submit<number>('inc', [previous], { pure: false });
      const last = await previous;
      if (last !== n) throw new Error(`wrong chain result ${last}`);
      return (performance.now() - started) / 1000;
    };
    await chain(200);
    const n = quick ? 200 : 2_000;
    const seconds = await chain(n);
    results.push({ workload: 'chain of dependent tasks', value: round(n / seconds, 0), unit: 'tasks/s', params: { tasks: n, warmUp: 200 } });
  }
} finally {
  await cleanup.run();
}

print('tasks', results);
