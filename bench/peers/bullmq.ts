// BullMQ's figures for `npm run bench:peers`, against a private redis-server:
// the workloads of bench/tasks.ts and bench/queues.ts that BullMQ can do. Jobs
// run in a worker process of their own (concurrency 50), as sluice's and
// Dask's tasks do; results come back through QueueEvents, BullMQ's way to
// hear about finished jobs.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Proc, sleep } from '../../test/helpers/processes.ts';
import type { PeerReport, PeerResult } from '../compare.ts';
import { percentile, round } from '../lib.ts';
import { redisVersion, startRedis } from './redis.ts';

const WORKER = fileURLToPath(new URL('bullmq-worker.ts', import.meta.url));
const CONCURRENCY = 50;

type BullMQ = typeof import('bullmq');

/** Why BullMQ cannot run here, or undefined when it can. */
async function missing(): Promise<{ reason: string; install: string } | undefined> {
  if (redisVersion() === undefined) return { reason: 'no redis-server on the PATH', install: 'sudo apt-get install -y redis-server' };
  for (const name of ['bullmq', 'ioredis']) {
    try {
      await import(name);
    } catch {
      return { reason: `the ${name} module is not installed`, install: 'npm i -D bullmq ioredis' };
    }
  }
  return undefined;
}

export async function runBullmq(quick: boolean): Promise<PeerReport> {
  const absent = await missing();
  if (absent) return { available: false, ...absent };
  const bullmq: BullMQ = await import('bullmq');
  const { version } = (await import('bullmq/package.json', { with: { type: 'json' } })).default as { version: string };
  const redis = await startRedis();
  const connection = { host: '127.0.0.1', port: redis.port };
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const results: PeerResult[] = [];
    const queue = new bullmq.Queue<{ x: number }, number>('inc', { connection });
    closers.push(() => queue.close());
    await queue.waitUntilReady();
    const worker = new Proc([String(redis.port), 'inc', String(CONCURRENCY)], { script: WORKER });
    const killWorker = (): void => void worker.child.kill('SIGKILL'); // on an exit that skips the finally below
    process.once('exit', killWorker);
    closers.push(async () => {
      process.off('exit', killWorker);
      await worker.stop();
    });
    await worker.waitForLog((entry) => entry.msg === 'bullmq worker ready');

    // Throughput: add N jobs in bulk, let the worker run them, then read every result. Results are read from the
    // jobs rather than heard through QueueEvents: its event stream keeps about 10,000 events by default, so with
    // 10,000 jobs (four events each) a listener loses some and waits for ever.
    const throughput = async (n: number): Promise<number> => {
      const before = await queue.getJobCounts('completed', 'failed');
      const started = performance.now();
      const chunks = Array.from({ length: Math.ceil(n / 1000) }, (_, c) => Array.from({ length: Math.min(1000, n - c * 1000) }, (_, i) => ({ name: 'inc', data: { x: c * 1000 + i } })));
      const jobs = (await Promise.all(chunks.map((chunk) => queue.addBulk(chunk)))).flat();
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`${n} jobs not done within 10 minutes`);
        const counts = await queue.getJobCounts('completed', 'failed');
        if (counts.failed > before.failed) throw new Error(`${counts.failed - before.failed} jobs failed`);
        if (counts.completed - before.completed >= n) break;
        await sleep(2);
      }
      const values = await Promise.all(jobs.map(async (job) => (await bullmq.Job.fromId<{ x: number }, number>(queue, job.id as string))?.returnvalue));
      const seconds = (performance.now() - started) / 1000;
      if (values[n - 1] !== n) throw new Error(`wrong result ${values[n - 1]} for the last job`);
      return n / seconds;
    };
    await throughput(500); // warm up
    const tasks = quick ? 2_000 : 10_000;
    results.push({ id: 'tasks-throughput', value: round(await throughput(tasks), 0), unit: 'tasks/s', params: { tasks, concurrency: CONCURRENCY, submit: 'Queue.addBulk, 1000 jobs each', gather: 'poll Queue.getJobCounts every 2 ms, then Job.fromId for each' } });

    // Latency: one job at a time, add to result.
    {
      const events = new bullmq.QueueEvents('inc', { connection });
      closers.push(() => events.close());
      await events.waitUntilReady();
      const n = quick ? 100 : 1_000;
      const warmUp = quick ? 100 : 5_000; // as sluice's and Dask's runs do; the first n are reported on their own
      const first: number[] = [];
      const latencies: number[] = [];
      for (let i = 0; i < n + warmUp; i++) {
        const started = performance.now();
        const job = await queue.add('inc', { x: i });
        if ((await job.waitUntilFinished(events)) !== i + 1) throw new Error('wrong result');
        if (i >= warmUp) latencies.push(performance.now() - started);
        else if (i < n) first.push(performance.now() - started);
      }
      latencies.sort((a, b) => a - b);
      first.sort((a, b) => a - b);
      const api = 'Queue.add, then Job.waitUntilFinished(queueEvents)';
      for (const p of [50, 99]) {
        results.push({ id: `task-latency-p${p}`, value: round(percentile(latencies, p), 3), unit: 'ms', params: { tasks: n, warmUp, api } });
        results.push({ id: `task-latency-first-p${p}`, value: round(percentile(first, p), 3), unit: 'ms', params: { tasks: n, api } });
      }
    }

    results.push({ id: 'chain', value: null, unit: 'tasks/s', note: "BullMQ's flows are trees whose parent waits for its children: no chain of results handed along, not comparable" });

    // A queue used as a queue: add an item, then take it (a worker's manual getNextJob) and mark it done.
    {
      const items = new bullmq.Queue<{ i: number }>('items', { connection });
      const taker = new bullmq.Worker<{ i: number }>('items', null, { connection });
      closers.push(() => items.close(), () => taker.close());
      const token = randomUUID();
      const n = quick ? 200 : 2_000;
      const putThenGet = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++) {
          await items.add('item', { i });
          const job = await taker.getNextJob(token, { block: false });
          if (job?.data.i !== i) throw new Error('out of order');
          await job.moveToCompleted(null, token, false);
        }
      };
      await putThenGet(200); // warm up, as sluice's and Dask's runs do
      const started = performance.now();
      await putThenGet(n);
      const seconds = (performance.now() - started) / 1000;
      results.push({ id: 'queue-put-get', value: round((2 * n) / seconds, 0), unit: 'ops/s', params: { items: n, ops: 2 * n, api: 'Queue.add, then Worker.getNextJob + Job.moveToCompleted (a get is both)' } });

      // Adds alone, 50 in flight (issue 8 quotes this one for BullMQ; sluice has no put-only figure).
      const adds = quick ? 2_000 : 20_000;
      let next = 0;
      const addStarted = performance.now();
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < adds) await items.add('item', { i: next++ });
        }),
      );
      results.push({ id: 'queue-add-50', value: round(adds / ((performance.now() - addStarted) / 1000), 0), unit: 'ops/s', params: { adds, inFlight: 50, api: 'Queue.add' } });
    }

    for (const p of [50, 99]) results.push({ id: `pubsub-latency-p${p}`, value: null, unit: 'ms', note: 'BullMQ has no pub/sub' });
    return { available: true, version, redis: redis.version, setup: `redis-server ${redis.version} on loopback with its default settings; 1 worker process, concurrency ${CONCURRENCY}`, results };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await redis.stop();
  }
}
