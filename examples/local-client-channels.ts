// Dask's channels example with local clients, in sluice: two tasks on the
// workers append random numbers to channels `a` and `b` forever; a third zips
// the two channels and appends their sums to `adds`; here we read `adds`.
// Run against `npm start`:  node --import tsx examples/local-client-channels.ts
import { Client } from 'sluice/client';

const client = await Client.connect(process.env.SLUICE_SCHEDULER ?? 'http://localhost:8786');
const run = process.env.SLUICE_EXAMPLE_RUN ?? Date.now().toString(36); // fresh channel names per run
const [a, b, adds] = [`a-${run}`, `b-${run}`, `adds-${run}`];

const emitters = [client.submit('emit', [a], { pure: false }), client.submit('emit', [b], { pure: false })];
const combiner = client.submit<number>('combine', [a, b, adds], { pure: false });

const sums = client.channel(adds);
let seen = 0;
for await (const future of sums) {
  console.log(await future); // a sum of two random numbers, between 0 and 2
  if (++seen === 10) break;
}

// Stop everything: cancel the emitters; stopping both inputs ends the combiner.
await client.cancel(emitters);
await Promise.all([client.channel(a).stop(), client.channel(b).stop()]);
console.log(`combined ${await combiner} pairs`);
await client.close();
