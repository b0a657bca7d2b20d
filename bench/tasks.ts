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
    // Let go of them now, as Python's reference counting does in Dask's run,
    // not whenever the garbage collector finds them during the next workload.
    for (const future of futures) future.release();
    await client.flush();
    results.push({ workload: 'trivial tasks: submit, run, gather (1 worker)', value: round(n / seconds, 0), unit: 'tasks/s', params: { tasks: n, concurrency: 256 } });
  }

  // Latency: one task at a time, submit to result. V8 optimises this path as
  // it runs, over the first few thousand tasks: 5000 warm it up (the peers'
  // runs do the same) and the first 1000 of them are reported on their own.
  {
    const n = quick ? 100 : 1_000;
    const warmUp = quick ? 100 : 5_000;
    const first: number[] = [];
    const latencies: number[] = [];
    for (let i = 0; i < n + warmUp; i++) {
      const started = performance.now();
      await client.submit('inc', [i], { pure: false });
      if (i >= warmUp) latencies.push(performance.now() - started);
      else if (i < n) first.push(performance.now() - started);
    }
    for (const [list, label, params] of [
      [latencies, 'one task at a time, submit to result', { tasks: n, warmUp }],
      [first, 'one task at a time, submit to result, the first tasks', { tasks: n }],
    ] as const) {
      const sorted = [...list].sort((a, b) => a - b);
      results.push({ workload: `${label}, p50`, value: round(percentile(sorted, 50), 3), unit: 'ms', params });
      results.push({ workload: `${label}, p99`, value: round(percentile(sorted, 99), 3), unit: 'ms', params });
    }
  }

  // A chain: each task takes the previous one's result. A first chain of
  // the same length warms up the paths a chain takes (Dask's run does the
  // same); the first chain this scheduler runs is reported beside it.
  {
    const chain = async (n: number): Promise<number> => {
      const started = performance.now();
      let previous = client.submit<number>('inc', [0], { pure: false });
      for (let i = 1; i < n; i++) previous = client.submit<number>('inc', [previous], { pure: false });
      const last = await previous;
      if (last !== n) throw new Error(`wrong chain result ${last}`);
      return (performance.now() - started) / 1000;
    };
    const n = quick ? 200 : 2_000;
    const first = await chain(n);
    const seconds = await chain(n);
    results.push({ workload: 'chain of dependent tasks', value: round(n / seconds, 0), unit: 'tasks/s', params: { tasks: n, warmUp: n } });
    results.push({ workload: 'chain of dependent tasks, the first one', value: round(n / first, 0), unit: 'tasks/s', params: { tasks: n } });
  }
} finally {
  await cleanup.run();
}

print('tasks', results);
