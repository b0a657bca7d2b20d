// streamz's "Asynchronous Computation" with Dask, in sluice: each item is
// scattered to the cluster, `increment` (a task in examples/tasks.ts, 100 ms
// of work) runs on a worker, five futures stay on the cluster at any time,
// and the results come back in order to be written here. Prints 1 to 10.
// Run against `npm start`:  node --import tsx examples/stream-cluster.ts
import { Client } from 'sluice/client';
import { Stream } from 'sluice/stream';

const writeMs = Number(process.env.WRITE_MS ?? 200);

async function write(x: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, writeMs));
  console.log(x);
}

const client = await Client.connect(process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786');
const source = new Stream<number>();
source
  .scatter(client) // scatter local items to the cluster: a ClusterStream of futures
  .map<number>('increment') // run the task `increment` on a worker, for each future
  .buffer(5) // allow five futures to stay on the cluster at any time
  .gather() // bring results back to this process, in order
  .sink(write); // call write locally

for (let x = 0; x < 10; x++) {
  await source.emit(x);
}
await source.end(); // wait for the results still on the cluster
await client.close();
