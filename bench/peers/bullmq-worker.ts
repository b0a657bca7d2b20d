// BullMQ's worker for bench/peers/bullmq.ts, in its own process as sluice's
// and Dask's workers are: `inc` on every job of a queue.
// node --import tsx bench/peers/bullmq-worker.ts PORT QUEUE CONCURRENCY
import { Worker } from 'bullmq';

const [port, queue, concurrency] = process.argv.slice(2);
const worker = new Worker<{ x: number }, number>(queue, async (job) => job.data.x + 1, {
  connection: { host: '127.0.0.1', port: Number(port) },
  concurrency: Number(concurrency),
});
worker.on('error', (error) => process.stderr.write(`${String(error)}\n`));
await worker.waitUntilReady();
process.stdout.write(`${JSON.stringify({ msg: 'bullmq worker ready' })}\n`);
process.once('SIGTERM', () => void worker.close().then(() => process.exit(0)));
