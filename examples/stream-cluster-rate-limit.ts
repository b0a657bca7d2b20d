// streamz's "Asynchronous Computation", asynchronous Dask, in sluice: the
// increments run on the cluster, at most one future goes on per 500 ms, the
// results are written here; `await source.emit(x)` waits for all of it.
// Prints 1 to 10 in about 5 seconds.
// Run against `npm start`:  node --import tsx examples/stream-cluster-rate-limit.ts
import { Client } from 'sluice/client';
import { Stream } from 'sluice/stream';

const intervalMs = Number(process.env.INTERVAL_MS ?? 500);
const writeMs = Number(process.env.WRITE_MS ?? 200);

async function write(x: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, writeMs));
  console.log(x);
}

const client = await Client.connect(process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786');
const source = new Stream<number>();
source.scatter(client).map<number>('increment').rateLimit(intervalMs).gather().sink(write);

for (let x = 0; x < 10; x++) {
  await source.emit(x);
}
await client.close();
